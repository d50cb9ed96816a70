package peers

import "strings"

// WithMilters makes Postfix pass every message through the milters, in order: those
// received over SMTP (smtpd_milters, every listener) and those that are not
// (non_smtpd_milters). Each is a Postfix milter address, e.g. OpenDKIM.Milter
// ("unix:/tmp/opendkim-.../milter.sock") or "inet:127.0.0.1:PORT". A milter that does not answer makes Postfix answer 4xx
// (milter_default_action = tempfail): a broken milter shows as refused mail, never as
// mail that silently went through unfiltered.
//
// Postfix hands the message to the milters one after the other, from the queue file, so
// a later milter sees the header fields that an earlier one added: a signer followed by
// a verifier verifies the signature just made.
func WithMilters(milters ...string) MailOption {
	return func(c *mailConfig) { c.milters = append(c.milters, milters...) }
}

// milterConf is the main.cf block for cfg's milters ("" for none).
func milterConf(milters []string) string {
	if len(milters) == 0 {
		return ""
	}
	return "\n# Milters (WithMilters).\n" +
		"smtpd_milters = " + strings.Join(milters, ", ") + "\n" +
		"non_smtpd_milters = $smtpd_milters\n" +
		"milter_default_action = tempfail\n" +
		"milter_connect_timeout = 5s\n"
}
