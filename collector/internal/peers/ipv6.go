package peers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// IPv6 is the loopback address WithIPv6 adds to every listener.
const IPv6 = "::1"

// WithIPv6 makes every Dovecot and Postfix port listen on ::1 as well as on 127.0.0.1
// and 127.0.0.2 (Dovecot `listen`, Postfix master.cf `[::1]:PORT` entries with
// inet_protocols = all), for tests of a dual-stack host. StartMail fails (skips without
// MAIL_EXPORTER_REAL_PEERS=1) when the machine has no ::1. Note that Dovecot treats a
// connection from ::1 to ::1 as secure, as it does on 127.0.0.1.
func WithIPv6() MailOption {
	return func(c *mailConfig) { c.ipv6 = true }
}

// RequireIPv6 fails the test (skips it, without MAIL_EXPORTER_REAL_PEERS=1) when nothing
// can listen on ::1.
func RequireIPv6(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp6", net.JoinHostPort(IPv6, "0"))
	if err == nil {
		ln.Close()
		return
	}
	if os.Getenv(EnvRealPeers) == "1" {
		t.Fatalf("peers: cannot listen on [::1] (%v), and %s=1", err, EnvRealPeers)
	}
	t.Skipf("peers: cannot listen on [::1] (%v); set %s=1 to make this a failure", err, EnvRealPeers)
}

// addresses are the addresses every port listens on, minus those stopped.
func (m *Mail) addresses() []string {
	all := []string{"127.0.0.1", "127.0.0.2"}
	if m.cfg.ipv6 {
		all = append(all, IPv6)
	}
	return slices.DeleteFunc(all, func(a string) bool { return slices.Contains(m.stopped, a) })
}

func (m *Mail) postfixHosts() []string {
	var out []string
	for _, a := range m.addresses() {
		if strings.Contains(a, ":") {
			a = "[" + a + "]"
		}
		out = append(out, a)
	}
	return out
}

func (m *Mail) dovecotListen() string { return strings.Join(m.addresses(), ", ") }

func (m *Mail) inetInterfaces() string {
	if m.cfg.ipv6 {
		return "127.0.0.1, [::1]"
	}
	return "127.0.0.1"
}

func (m *Mail) inetProtocols() string {
	if m.cfg.ipv6 {
		return "all"
	}
	return "ipv4"
}

// StopListening closes every Dovecot and Postfix listener on addr (127.0.0.2 or, with
// WithIPv6, ::1), leaving the other addresses serving: a host one of whose addresses
// broke. It rewrites both configurations, reloads both servers (SIGHUP) and waits until
// nothing accepts on addr. StartListening undoes it.
func (m *Mail) StopListening(addr string) error {
	if addr == "127.0.0.1" || !slices.Contains(m.addresses(), addr) {
		return fmt.Errorf("peers: %s is not a listening address that can be stopped", addr)
	}
	m.stopped = append(m.stopped, addr)
	if err := m.reload(); err != nil {
		return err
	}
	return m.waitPorts(addr, false)
}

// StartListening opens the listeners on addr again and waits until every port answers.
func (m *Mail) StartListening(addr string) error {
	m.stopped = slices.DeleteFunc(m.stopped, func(a string) bool { return a == addr })
	if err := m.reload(); err != nil {
		return err
	}
	return m.waitPorts(addr, true)
}

func (m *Mail) reload() error {
	if err := writeTemplate(m.path("dovecot", "dovecot.conf"), dovecotConf, m.confData(), 0o644); err != nil {
		return err
	}
	if err := writeTemplate(m.path("postfix", "etc", "master.cf"), postfixMasterCf, m.confData(), 0o644); err != nil {
		return err
	}
	var errs []error
	for _, d := range []*daemon{m.dovecot, m.postfix} {
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			errs = append(errs, fmt.Errorf("reload %s: %w", d.name, err))
		}
	}
	return errors.Join(errs...)
}

// waitPorts waits until every mail port on addr accepts (open) or refuses (!open).
func (m *Mail) waitPorts(addr string, open bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		var wrong []string
		for _, name := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, fmt.Sprint(m.Ports[name])), time.Second)
			if err == nil {
				c.Close()
			}
			if (err == nil) != open {
				wrong = append(wrong, name)
			}
		}
		if len(wrong) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peers: after reload, %s ports %v still %s", addr, wrong, map[bool]string{true: "refuse", false: "accept"}[open])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantsIPv6 reports whether opts include WithIPv6.
func wantsIPv6(opts []MailOption) bool {
	c := mailConfig{users: map[string]string{}}
	for _, o := range opts {
		o(&c)
	}
	return c.ipv6
}
