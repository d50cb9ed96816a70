package peers

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvRealPeers is the variable that turns a missing Dovecot/Postfix into a test failure
// (CI sets it to "1") instead of a skip.
const EnvRealPeers = "MAIL_EXPORTER_REAL_PEERS"

// EnvKeepPeers, when "1", keeps the working folder of every instance after the test
// (the servers are stopped all the same), for reading the logs.
const EnvKeepPeers = "MAIL_EXPORTER_KEEP_PEERS"

// Domain is the mail domain served by StartMail; DefaultUser is its login.
const (
	Domain      = "example.test"
	DefaultUser = "monitor@example.test"
	ServerName  = "mail.example.test"
	// MailUID and MailGID own the stored mail (nobody:nogroup on Debian).
	MailUID = 65534
	MailGID = 65534
)

// PortNames lists the keys of Mail.Ports.
var PortNames = []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "lmtp"}

// Mail is a running Dovecot + Postfix pair.
type Mail struct {
	// Host is the address to probe: 127.0.0.2 (see the package comment). Every port also
	// listens on 127.0.0.1, where Dovecot treats the connection as secure.
	Host string
	// Ports: "smtp" (STARTTLS, no AUTH, like port 25), "submission" (STARTTLS, AUTH only
	// after TLS), "submissions" (implicit TLS), "imap" (STARTTLS), "imaps", "pop3" (STLS),
	// "pop3s", "lmtp" (Dovecot's LMTP, plain).
	Ports    map[string]int
	User     string // DefaultUser
	Password string
	// Users maps every login (User and those of WithUsers) to its password.
	Users map[string]string
	// CA issued Leaf (unless WithCert was given); CAFile, CAPool hold only that CA.
	CA         *CA
	CAFile     string
	CAPool     *x509.CertPool
	Leaf       *x509.Certificate // the certificate the servers present
	ServerName string            // "mail.example.test"; the default leaf also has localhost, 127.0.0.1, 127.0.0.2, ::1
	Dir        string            // working folder under /tmp, world-traversable
	// MaildirOf returns the Maildir folder of a login ("alice" means alice@example.test).
	MaildirOf func(user string) string
	// StartupTime is how long StartMail took until every port answered its greeting.
	StartupTime time.Duration

	cfg       mailConfig
	stopped   []string // addresses StopListening closed (ipv6.go)
	dovecot   *daemon
	postfix   *daemon
	relay     *tcpRelay
	relayPort int
	stopOnce  sync.Once
	stopErr   error
}

// MailOption changes StartMail's defaults.
type MailOption func(*mailConfig)

type mailConfig struct {
	users    map[string]string
	quota    string
	certPEM  []byte
	keyPEM   []byte
	ca       *CA
	deadline time.Duration
	// greetDelay: seconds Postfix's smtp port waits before its greeting (WithGreetingDelay)
	greetDelay int
	pick       func(n int) ([]int, error) // tests: simulate a port taken meanwhile

	dovecotExtra, submissionExtra []string // auth.go
	postfixExtra                  []string // mx.go: main.cf lines after the defaults
	milters                       []string // WithMilters
	ipv6                          bool     // ipv6.go
	authFailureDelay              string   // WithAuthFailureDelay
	postscreen                    bool     // WithPostscreen
}

// WithUsers adds logins (full addresses; a bare name gets "@example.test") with their
// passwords. A domain other than example.test is added to Postfix's virtual domains.
func WithUsers(users map[string]string) MailOption {
	return func(c *mailConfig) {
		for u, p := range users {
			c.users[normalizeUser(u)] = p
		}
	}
}

// WithQuota enables Dovecot's quota plugin with "maildir:User quota" and
// quota_rule = *:storage=<limit> (e.g. "10M"), and imap_quota for GETQUOTAROOT.
func WithQuota(limit string) MailOption {
	return func(c *mailConfig) { c.quota = limit }
}

// WithCert makes every server present certPEM (leaf first, then any intermediates) with
// keyPEM, e.g. an expired certificate or one for another name.
func WithCert(certPEM, keyPEM []byte) MailOption {
	return func(c *mailConfig) { c.certPEM, c.keyPEM = certPEM, keyPEM }
}

// WithCA issues the servers' leaf from ca instead of a fresh CA.
func WithCA(ca *CA) MailOption {
	return func(c *mailConfig) { c.ca = ca }
}

// WithStartTimeout changes how long StartMail may take, all attempts together (default
// 120s, 40 s per attempt: Postfix and Dovecot start in about a second, but a CI machine
// busy with a parallel race-enabled test run has been seen to take over 20 s before every
// port greeted).
func WithStartTimeout(d time.Duration) MailOption {
	return func(c *mailConfig) { c.deadline = d }
}

// Binaries that StartMail runs.
var (
	dovecotBin     = "/usr/sbin/dovecot"
	doveadmBin     = "/usr/bin/doveadm"
	postfixMaster  = "/usr/lib/postfix/sbin/master"
	requiredMailFS = []string{
		dovecotBin, doveadmBin, postfixMaster, "/usr/sbin/postqueue",
		"/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3", "/usr/lib/dovecot/lmtp",
		"/usr/lib/postfix/sbin/smtpd", "/usr/lib/postfix/sbin/lmtp", "/usr/lib/postfix/sbin/postlogd",
	}
)

// requireOrSkip skips (or fails, when EnvRealPeers=1) a test that cannot run the servers.
func requireOrSkip(t testing.TB, paths []string) {
	t.Helper()
	var missing []string
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	var why string
	switch {
	case len(missing) > 0:
		why = "missing " + strings.Join(missing, ", ") +
			" (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix opendkim)"
	case os.Geteuid() != 0:
		why = "Dovecot and Postfix need root to run"
	default:
		return
	}
	if os.Getenv(EnvRealPeers) == "1" {
		t.Fatalf("peers: %s, and %s=1", why, EnvRealPeers)
	}
	t.Skipf("peers: %s; set %s=1 to make this a failure", why, EnvRealPeers)
}

// StartMail starts Dovecot (IMAP, POP3, LMTP, auth) and Postfix (smtp, submission,
// submissions; SASL via Dovecot; delivery via LMTP into Dovecot), waits until every port
// answers its greeting, and registers t.Cleanup to stop them.
func StartMail(t testing.TB, opts ...MailOption) *Mail {
	t.Helper()
	requireOrSkip(t, requiredMailFS)
	if wantsIPv6(opts) {
		RequireIPv6(t)
	}
	m, err := Start(func(format string, args ...any) { t.Logf(format, args...) }, opts...)
	if err != nil {
		t.Fatalf("peers: StartMail: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("peers: stop: %v", err)
		}
	})
	t.Logf("peers: Dovecot+Postfix ready on %s in %v (dir %s, ports %v)",
		m.Host, m.StartupTime.Round(time.Millisecond), m.Dir, m.Ports)
	return m
}

// Start is StartMail outside a test (the load test's real-server mode): the caller stops
// the servers with Mail.Stop. logf, when set, receives a line per retried attempt.
func Start(logf func(format string, args ...any), opts ...MailOption) (*Mail, error) {
	start := time.Now()
	cfg := mailConfig{users: map[string]string{}, deadline: 120 * time.Second, pick: pickPorts}
	for _, o := range opts {
		o(&cfg)
	}
	password := randomHex(12)
	if _, ok := cfg.users[DefaultUser]; !ok {
		cfg.users[DefaultUser] = password
	} else {
		password = cfg.users[DefaultUser]
	}
	for u, p := range cfg.users {
		if strings.ContainsAny(u, ":\n\r\t /") || strings.ContainsAny(p, ":\n\r") || p == "" {
			return nil, fmt.Errorf("user %q or its password is unusable in a passwd-file", u)
		}
	}

	// One deadline for all attempts together; an attempt but the last gets a third of
	// it. Postfix is ready within a second here, but twice under CI load an instance
	// accepted connections and greeted nobody for a whole minute, with nothing in its
	// log: a fresh instance is tried instead of waiting that one out, and the failed
	// attempt's error lists its processes' states.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.deadline)
	defer cancel()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		actx, acancel := ctx, context.CancelFunc(func() {})
		if attempt < attempts {
			actx, acancel = context.WithTimeout(ctx, cfg.deadline/attempts)
		}
		m, err := startMailOnce(actx, cfg)
		stalled := err != nil && actx.Err() != nil && ctx.Err() == nil
		acancel()
		if err == nil {
			m.Password = password
			m.StartupTime = time.Since(start)
			return m, nil
		}
		var inUse *portInUseError
		if (errors.As(err, &inUse) || stalled) && attempt < attempts {
			if logf != nil {
				logf("peers: attempt %d: %v; retrying with a fresh instance and other ports", attempt, err)
			}
			continue
		}
		return nil, err
	}
}

type portInUseError struct{ detail string }

func (e *portInUseError) Error() string { return "a port was taken meanwhile: " + e.detail }

// startMailOnce makes one attempt; on error everything it started is stopped and its
// folder removed (the error carries the log tails).
func startMailOnce(ctx context.Context, cfg mailConfig) (m *Mail, err error) {
	dir, err := os.MkdirTemp("/tmp", "mailpeers-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	m = &Mail{
		Host:       "127.0.0.2",
		Users:      cfg.users,
		User:       DefaultUser,
		ServerName: ServerName,
		Dir:        dir,
		cfg:        cfg,
	}
	m.MaildirOf = m.maildirOf
	defer func() {
		if err != nil {
			logs := m.logTails(40)
			if ctx.Err() != nil {
				logs += m.processStates()
			}
			_ = m.stop(os.Getenv(EnvKeepPeers) == "1")
			err = fmt.Errorf("%w\n%s", err, logs)
		}
	}()

	if err := m.writeTLS(); err != nil {
		return m, fmt.Errorf("TLS files: %w", err)
	}
	if err := m.writeUsers(); err != nil {
		return m, fmt.Errorf("users: %w", err)
	}
	ports, err := cfg.pick(len(PortNames) + 1)
	if err != nil {
		return m, err
	}
	m.Ports = map[string]int{}
	for i, n := range PortNames {
		m.Ports[n] = ports[i]
	}
	// Postfix delivers to the relay, the relay to Dovecot's LMTP port.
	m.relayPort = ports[len(PortNames)]
	m.relay, err = newTCPRelay(fmt.Sprintf("127.0.0.1:%d", m.relayPort),
		fmt.Sprintf("127.0.0.1:%d", m.Ports["lmtp"]))
	if errors.Is(err, syscall.EADDRINUSE) {
		return m, &portInUseError{detail: "LMTP relay: " + err.Error()}
	}
	if err != nil {
		return m, fmt.Errorf("LMTP relay: %w", err)
	}

	if err := m.writeDovecot(); err != nil {
		return m, fmt.Errorf("dovecot config: %w", err)
	}
	if err := m.writePostfix(); err != nil {
		return m, fmt.Errorf("postfix config: %w", err)
	}
	m.dovecot, err = startDaemon("dovecot", filepath.Join(dir, "dovecot.stderr"),
		dovecotBin, "-F", "-c", m.path("dovecot", "dovecot.conf"))
	if err != nil {
		return m, err
	}
	// Postfix's smtpd connects to Dovecot's auth socket when it starts and, if that
	// fails, exits; master then throttles the service for service_throttle_time.
	if err := m.waitAuthSocket(ctx); err != nil {
		if strings.Contains(m.readLogs(), "Address already in use") {
			return m, &portInUseError{detail: err.Error()}
		}
		return m, err
	}
	m.postfix, err = startDaemon("postfix", filepath.Join(dir, "postfix.stderr"),
		postfixMaster, "-c", m.path("postfix", "etc"), "-d")
	if err != nil {
		return m, err
	}

	if err := m.waitReady(ctx); err != nil {
		if strings.Contains(m.readLogs(), "Address already in use") {
			return m, &portInUseError{detail: err.Error()}
		}
		if m.postfix.exited() {
			// Postfix's master logs its start-up errors only to syslog (there is no
			// /dev/log here), so find the likely causes ourselves.
			for _, name := range []string{"smtp", "submission", "submissions"} {
				if !portFree(m.Ports[name]) {
					return m, &portInUseError{detail: fmt.Sprintf("%v (Postfix's %s port %d is taken)", err, name, m.Ports[name])}
				}
			}
			return m, fmt.Errorf("%w\n%s", err, m.postfixCheck())
		}
		return m, err
	}
	if cfg.ipv6 {
		if err := m.waitPorts(IPv6, true); err != nil {
			return m, err
		}
	}
	return m, nil
}

// authSocket is Dovecot's SASL socket for Postfix.
func (m *Mail) authSocket() string { return m.path("dovecot", "run", "auth-postfix") }

// waitAuthSocket waits until Dovecot's auth socket accepts connections.
func (m *Mail) waitAuthSocket(ctx context.Context) error {
	var err error
	for {
		var c net.Conn
		if c, err = net.DialTimeout("unix", m.authSocket(), time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-m.dovecot.done:
			return fmt.Errorf("dovecot exited during start-up: %v", m.dovecot.child.Err())
		case <-ctx.Done():
			return fmt.Errorf("dovecot's auth socket: %w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// postfixCheck runs "postfix check" on this configuration under script(1): Postfix
// commands print their errors only to a terminal (or syslog).
func (m *Mail) postfixCheck() string {
	script, err := exec.LookPath("script")
	if err != nil {
		return "(postfix check skipped: no script(1) to give it a terminal)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec",
		"/usr/sbin/postfix -c "+m.path("postfix", "etc")+" check", "/dev/null")
	cmd.Env = daemonEnv()
	out, err := cmd.CombinedOutput()
	return fmt.Sprintf("--- postfix check (%v) ---\n%s", err, strings.TrimSpace(string(out)))
}

func (m *Mail) path(elem ...string) string {
	return filepath.Join(append([]string{m.Dir}, elem...)...)
}

func normalizeUser(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if !strings.Contains(u, "@") {
		u += "@" + Domain
	}
	return u
}

func splitUser(u string) (local, domain string) {
	u = normalizeUser(u)
	i := strings.LastIndexByte(u, '@')
	return u[:i], u[i+1:]
}

func (m *Mail) homeOf(user string) string {
	local, domain := splitUser(user)
	return m.path("mail", domain, local)
}

func (m *Mail) maildirOf(user string) string {
	return filepath.Join(m.homeOf(user), "Maildir")
}

// Addr returns "Host:port" for a key of Ports.
func (m *Mail) Addr(port string) string {
	p, ok := m.Ports[port]
	if !ok {
		panic("peers: no port " + port)
	}
	return net.JoinHostPort(m.Host, strconv.Itoa(p))
}

// TLSConfig returns a client configuration that trusts only the test CA and verifies
// ServerName.
func (m *Mail) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: m.CAPool, ServerName: m.ServerName, MinVersion: tls.VersionTLS12}
}

func (m *Mail) domains() []string {
	set := map[string]bool{Domain: true}
	for u := range m.Users {
		_, d := splitUser(u)
		set[d] = true
	}
	var out []string
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func (m *Mail) sortedUsers() []string {
	var us []string
	for u := range m.Users {
		us = append(us, u)
	}
	sort.Strings(us)
	return us
}

func (m *Mail) writeTLS() error {
	if err := os.MkdirAll(m.path("tls"), 0o755); err != nil {
		return err
	}
	ca := m.cfg.ca
	if ca == nil {
		var err error
		if ca, err = newCA("mail_exporter test CA"); err != nil {
			return err
		}
	}
	m.CA = ca
	m.CAPool = ca.Pool()
	m.CAFile = m.path("tls", "ca.pem")
	if err := os.WriteFile(m.CAFile, ca.PEM(), 0o644); err != nil {
		return err
	}
	certPEM, keyPEM := m.cfg.certPEM, m.cfg.keyPEM
	if certPEM == nil {
		var err error
		certPEM, keyPEM, _, err = ca.issue(CertOptions{
			DNSNames: []string{ServerName, "localhost"},
			IPs:      []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv6loopback},
		})
		if err != nil {
			return err
		}
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("certificate PEM holds no CERTIFICATE block")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("certificate and key do not match: %w", err)
	}
	m.Leaf = leaf
	if err := os.WriteFile(m.path("tls", "cert.pem"), certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(m.path("tls", "key.pem"), keyPEM, 0o600)
}

func (m *Mail) writeUsers() error {
	if err := os.MkdirAll(m.path("mail"), 0o755); err != nil {
		return err
	}
	for _, u := range m.sortedUsers() {
		home := m.homeOf(u)
		if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
			return err
		}
		if err := os.Mkdir(home, 0o700); err != nil {
			return err
		}
		if err := os.Chown(home, MailUID, MailGID); err != nil {
			return err
		}
	}
	return nil
}

// Messages lists the files of the messages in user's INBOX (Maildir new/ and cur/).
func (m *Mail) Messages(user string) ([]string, error) {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(m.MaildirOf(user), sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(m.MaildirOf(user), sub, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// WaitMessages polls user's INBOX until it holds at least n messages or timeout passes,
// and returns their files.
func (m *Mail) WaitMessages(t testing.TB, user string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := m.Messages(user)
		if err != nil {
			t.Fatalf("peers: maildir of %s: %v", user, err)
		}
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: %d message(s) in %s after %v, want %d\n%s",
				len(msgs), m.MaildirOf(user), timeout, n, m.logTails(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Doveadm runs doveadm against this instance, e.g. Doveadm("quota", "get", "-u", user),
// and returns its combined output.
func (m *Mail) Doveadm(args ...string) (string, error) {
	cmd := exec.Command(doveadmBin, append([]string{"-c", m.path("dovecot", "dovecot.conf")}, args...)...)
	cmd.Env = daemonEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("doveadm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// StopLMTP breaks delivery: the relay that Postfix delivers through is closed, with any
// open connection, so Postfix defers example.test mail ("Connection refused").
func (m *Mail) StopLMTP() error { return m.relay.Stop() }

// StartLMTP reopens the relay on the same port and asks Postfix to retry deferred mail now.
func (m *Mail) StartLMTP() error {
	if err := m.relay.Start(); err != nil {
		return err
	}
	return m.Flush()
}

// Flush asks Postfix's queue manager to retry every deferred message now (as postqueue -f).
func (m *Mail) Flush() error {
	c, err := net.DialTimeout("unix", m.path("postfix", "queue", "public", "qmgr"), 5*time.Second)
	if err != nil {
		return fmt.Errorf("postfix flush: %w", err)
	}
	defer c.Close()
	// QMGR_REQ_FLUSH_DEAD, QMGR_REQ_SCAN_ALL, QMGR_REQ_SCAN_DEFERRED, QMGR_REQ_SCAN_INCOMING
	_, err = c.Write([]byte("FADI"))
	return err
}

// Logs returns the last lines of Dovecot's and Postfix's logs.
func (m *Mail) Logs(lines int) string { return m.logTails(lines) }

// Stop stops Postfix and Dovecot (by PID, waiting for them to exit) and removes Dir unless
// MAIL_EXPORTER_KEEP_PEERS=1. It is called by t.Cleanup; calling it earlier is allowed.
func (m *Mail) Stop() error {
	m.stopOnce.Do(func() {
		m.stopErr = m.stop(os.Getenv(EnvKeepPeers) == "1")
	})
	return m.stopErr
}

func (m *Mail) stop(keep bool) error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, d := range []*daemon{m.postfix, m.dovecot} {
		if d == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.stop(10 * time.Second); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if m.relay != nil {
		_ = m.relay.Stop()
	}
	if !keep && m.Dir != "" {
		if err := removeAllRetry(m.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeAllRetry(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func (m *Mail) logFiles() []string {
	return []string{
		m.path("dovecot.stderr"), m.path("dovecot.log"),
		m.path("postfix.stderr"), m.path("postfix.log"),
	}
}

func (m *Mail) readLogs() string {
	var b strings.Builder
	for _, f := range m.logFiles() {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

func (m *Mail) logTails(n int) string {
	var b strings.Builder
	for _, f := range m.logFiles() {
		data, err := os.ReadFile(f)
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- tail of %s ---\n%s\n", f, strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(no log output)"
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// processStates is what groupStates says of Postfix's and Dovecot's processes.
func (m *Mail) processStates() string {
	var b strings.Builder
	for _, d := range []*daemon{m.postfix, m.dovecot} {
		if d != nil && d.cmd.Process != nil {
			fmt.Fprintf(&b, "--- %s's processes (pid name state wchan) ---\n%s", d.name, groupStates(d.cmd.Process.Pid))
		}
	}
	return b.String()
}
