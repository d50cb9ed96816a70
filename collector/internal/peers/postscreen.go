package peers

// PostscreenDeferReply is what postscreen answers to RCPT from a client that has just
// passed its "deep protocol" tests: it cannot hand a session it has spoken itself to
// smtpd, so the client is told to come back, and is let through on its next connection.
const PostscreenDeferReply = "450 4.3.2 Service currently unavailable"

// WithPostscreen puts Postfix's postscreen(8) in front of the "smtp" port, as MXes that
// fight spam bots run it, with the bare-newline deep protocol test on: a client's first
// connection reaches postscreen's own SMTP engine (STARTTLS through tlsproxy) and gets
// PostscreenDeferReply at RCPT; for postscreen_bare_newline_ttl after that it is handed
// to smtpd. Nothing is allow-listed (postscreen_access_list is empty, so loopback is a
// stranger too), and the pregreet wait is cut to 1 s.
func WithPostscreen() MailOption {
	return func(c *mailConfig) {
		c.postscreen = true
		c.postfixExtra = append(c.postfixExtra,
			"postscreen_access_list =",
			"postscreen_greet_wait = 1s",
			"postscreen_bare_newline_enable = yes",
			"postscreen_bare_newline_action = enforce",
			"postscreen_cache_map = btree:$data_directory/postscreen_cache")
	}
}
