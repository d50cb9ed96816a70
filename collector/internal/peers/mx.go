package peers

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Options for how Postfix's port-25 service ("smtp") treats a stranger, for the
// inbound-MX tests (relay test, banner, temporary failures). They are main.cf lines
// appended after the defaults (in main.cf the last setting wins). The default is a
// closed MX: smtpd_relay_restrictions = permit_sasl_authenticated,
// reject_unauth_destination, and every client on 127.0.0.0/8 is in mynetworks (which the
// default relay restrictions do not consult).

// WithOpenRelay makes the MX relay for anyone: smtpd_relay_restrictions = permit. Postfix
// refuses to start unless one of its two restriction lists names reject_unauth_destination
// (or a relative) where it can take effect, a guard against exactly this; so
// smtpd_recipient_restrictions names it after an access check that permits every client
// (check_client_access static:OK), the way a hurried "fix" of a mail problem does. The
// outbound transports become discard: (smtpd refuses at RCPT a recipient whose transport is
// error:, which would hide the relay); nothing can leave all the same, and the tests never
// send DATA anyway.
func WithOpenRelay() MailOption {
	return func(c *mailConfig) {
		c.postfixExtra = append(c.postfixExtra,
			"smtpd_relay_restrictions = permit",
			"smtpd_recipient_restrictions = check_client_access static:OK, reject_unauth_destination",
			"default_transport = discard:open relay test peer",
			"relay_transport = discard:open relay test peer")
	}
}

// WithDebianRelayDefaults sets the relay restrictions Debian's main.cf ships (and
// Postfix's built-in default since 2.10): permit_mynetworks, permit_sasl_authenticated,
// defer_unauth_destination. mynetworks is narrowed to a documentation prefix, so that the
// tests' client (127.0.0.1) is a stranger, as a prober on the internet would be.
func WithDebianRelayDefaults() MailOption {
	return func(c *mailConfig) {
		c.postfixExtra = append(c.postfixExtra,
			"mynetworks = 192.0.2.0/24",
			"smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination")
	}
}

// WithMyHostname sets Postfix's myhostname, the host name of its 220 greeting
// (smtpd_banner = $myhostname ESMTP ...) and of its EHLO reply.
func WithMyHostname(name string) MailOption {
	return func(c *mailConfig) { c.postfixExtra = append(c.postfixExtra, "myhostname = "+name) }
}

// WithSMTPBanner sets smtpd_banner, the text after "220 " in the greeting, e.g. "NAME
// ESMTP": the greeting then names NAME while the EHLO reply still names myhostname, as
// on a server whose banner was written by hand.
func WithSMTPBanner(text string) MailOption {
	return func(c *mailConfig) { c.postfixExtra = append(c.postfixExtra, "smtpd_banner = "+text) }
}

// GreylistReply is what WithGreylisting answers to every RCPT.
const GreylistReply = "450 4.2.0 Greylisted, see https://greylisting.example.test/ and try again later"

// WithGreylisting defers every recipient of every client with GreylistReply, as a
// greylisting policy does on first contact. It sits in smtpd_client_restrictions, which
// Postfix evaluates at RCPT (smtpd_delay_reject = yes) before the relay restrictions, so a
// relay attempt is deferred too.
func WithGreylisting() MailOption {
	return func(c *mailConfig) {
		c.postfixExtra = append(c.postfixExtra, "smtpd_client_restrictions = check_client_access static:{"+GreylistReply+"}")
	}
}

// WithConnectionLimit sets smtpd_client_connection_count_limit (anvil): a client with n
// connections open gets "421 4.7.0 ... Error: too many connections" instead of a
// greeting. Loopback clients are not exempted (smtpd_client_event_limit_exceptions =).
func WithConnectionLimit(n int) MailOption {
	return func(c *mailConfig) {
		c.postfixExtra = append(c.postfixExtra,
			"smtpd_client_connection_count_limit = "+strconv.Itoa(n),
			"smtpd_client_event_limit_exceptions =")
	}
}

// QueueFiles lists every message file in Postfix's queue (maildrop, incoming, active,
// deferred, hold, corrupt): none means nothing was queued.
func (m *Mail) QueueFiles() ([]string, error) {
	var files []string
	for _, q := range []string{"maildrop", "incoming", "active", "deferred", "hold", "corrupt"} {
		root := m.path("postfix", "queue", q)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// PostQueue runs postqueue -p on this instance: Postfix's own view of its queue
// ("Mail queue is empty" when empty).
func (m *Mail) PostQueue() (string, error) {
	out, err := exec.Command("/usr/sbin/postqueue", "-c", m.path("postfix", "etc"), "-p").CombinedOutput()
	return string(out), err
}
