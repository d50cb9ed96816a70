package peers

import "time"

// WithGreetingDelay makes Postfix's "smtp" port (both addresses) wait d, rounded up to
// whole seconds, before its greeting: smtpd_client_restrictions = sleep N with
// smtpd_delay_reject = no runs the restriction when the client connects, before the 220.
// A slow server, for tests of what waiting for it costs everyone else.
func WithGreetingDelay(d time.Duration) MailOption {
	return func(c *mailConfig) { c.greetDelay = int((d + time.Second - 1) / time.Second) }
}
