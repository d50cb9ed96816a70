package peers

// Options for how the servers offer logins before TLS. By default Dovecot has
// auth_mechanisms = plain login and disable_plaintext_auth = yes, and Postfix's
// submission port has smtpd_tls_security_level = encrypt and smtpd_tls_auth_only = yes:
// no login at all is offered before STARTTLS (seen from 127.0.0.2, see the package
// comment). The settings below are appended after the defaults; in both servers a later
// setting wins.

// WithAuthMechanisms sets Dovecot's auth_mechanisms, e.g. "plain login cram-md5
// scram-sha-256", and ssl = yes instead of required: ssl = required hides every mechanism
// until TLS, ssl = yes with disable_plaintext_auth = yes hides only the plaintext ones.
// Postfix takes its list from Dovecot's auth socket. The passwd-file holds {PLAIN}
// passwords, which every challenge-response mechanism can use.
func WithAuthMechanisms(mechs string) MailOption {
	return func(c *mailConfig) {
		c.dovecotExtra = append(c.dovecotExtra, "auth_mechanisms = "+mechs, "ssl = yes")
	}
}

// WithPlaintextAuth offers plaintext login before TLS, as the stock Debian settings of
// Postfix do (smtpd_tls_auth_only = no, smtpd_sasl_security_options = noanonymous) on the
// submission port, and Dovecot with disable_plaintext_auth = no and ssl = yes: IMAP without
// LOGINDISABLED, POP3 with USER, SMTP with AUTH PLAIN LOGIN before STARTTLS.
func WithPlaintextAuth() MailOption {
	return func(c *mailConfig) {
		c.dovecotExtra = append(c.dovecotExtra, "disable_plaintext_auth = no", "ssl = yes")
		c.submissionExtra = append(c.submissionExtra,
			"smtpd_tls_security_level=may",
			"smtpd_tls_auth_only=no",
			"smtpd_sasl_security_options=noanonymous")
	}
}

// WithSubmissionChallengeResponse makes the submission port offer AUTH before STARTTLS with
// the non-plaintext mechanisms only (smtpd_sasl_security_options = noanonymous,
// noplaintext) and every mechanism after it (smtpd_sasl_tls_security_options =
// noanonymous). Use it with WithAuthMechanisms naming a challenge-response mechanism:
// without one, the submission smtpd exits at start ("fatal: no SASL authentication
// mechanisms") and StartMail fails.
func WithSubmissionChallengeResponse() MailOption {
	return func(c *mailConfig) {
		c.submissionExtra = append(c.submissionExtra,
			"smtpd_tls_security_level=may",
			"smtpd_tls_auth_only=no",
			"smtpd_sasl_security_options=noanonymous,noplaintext",
			"smtpd_sasl_tls_security_options=noanonymous")
	}
}
