package peers

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// WithAuthFailureDelay sets Dovecot's auth_failure_delay (default here 0,
// so that wrong-password tests stay fast): a refused login, IMAP, POP3 or
// SMTP AUTH through Dovecot's SASL, is answered only after d (e.g. "2s").
func WithAuthFailureDelay(d string) MailOption {
	return func(c *mailConfig) { c.authFailureDelay = d }
}

// SetPassword changes a login's password while the servers run. Dovecot
// re-reads its passwd-file when the file's mtime (in seconds) or size
// changes, and looks at most once a second: the mtime is moved on by a
// second each time, and SetPassword returns after a second.
func (m *Mail) SetPassword(user, password string) error {
	user = normalizeUser(user)
	if _, ok := m.Users[user]; !ok {
		return fmt.Errorf("no login %s", user)
	}
	m.Users[user] = password
	path := m.path("dovecot", "users")
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := m.writePasswd(); err != nil {
		return err
	}
	t := time.Now()
	if next := st.ModTime().Add(time.Second); t.Before(next) {
		t = next
	}
	if err := os.Chtimes(path, t, t); err != nil {
		return err
	}
	time.Sleep(1100 * time.Millisecond)
	return nil
}

// writePasswd writes Dovecot's passwd-file of every login.
func (m *Mail) writePasswd() error {
	var users strings.Builder
	for _, u := range m.sortedUsers() {
		// user:password:uid:gid:gecos:home:shell:extra
		fmt.Fprintf(&users, "%s:{PLAIN}%s:%d:%d::%s::\n", u, m.Users[u], MailUID, MailGID, m.homeOf(u))
	}
	// Read by the auth process, which runs as the dovecot user. Test passwords only.
	return os.WriteFile(m.path("dovecot", "users"), []byte(users.String()), 0o644)
}

// Log lines that mark what a client did to the servers, for tests that
// count it in the servers' own logs (auth_verbose is on).
const (
	// LogFailedLogin: Dovecot's auth process refused a password, for an
	// IMAP or POP3 login or for Postfix's SMTP AUTH (Dovecot SASL).
	LogFailedLogin = "Password mismatch"
	// LogSMTPConnect: Postfix's smtpd accepted a connection.
	LogSMTPConnect = "]: connect from "
	// LogLoginSession: Dovecot's imap-login or pop3-login ended a
	// connection that did not log in (one line each).
	LogLoginSession = "-login: Info: Disconnected"
	// LogDelivered: Dovecot's LMTP stored a message in a mailbox.
	LogDelivered = "saved mail to "
)

// CountLog counts the lines of Dovecot's and Postfix's logs that contain s.
func (m *Mail) CountLog(s string) int {
	n := 0
	for _, line := range strings.Split(m.readLogs(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
