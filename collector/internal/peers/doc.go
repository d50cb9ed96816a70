// Package peers starts real mail servers (Dovecot and Postfix) on loopback for tests.
//
// StartMail gives a private Dovecot (IMAP, POP3, LMTP, auth) and Postfix (smtp,
// submission, submissions) instance with TLS from a test CA generated in Go. Everything
// lives in a fresh folder under /tmp (Dovecot drops privileges, so every folder on the
// path must be traversable by other users), listens on 127.0.0.1 and 127.0.0.2 only, on
// free high ports, and is stopped by PID in t.Cleanup. Several instances, in one test
// binary or in packages tested in parallel, do not share any file, port or socket.
//
// The servers need root (Postfix's master and Dovecot switch users) and Debian's packages
// dovecot-imapd, dovecot-pop3d, dovecot-lmtpd and postfix. Where they are missing the test
// is skipped, unless MAIL_EXPORTER_REAL_PEERS=1 (CI sets it), where it fails.
//
// Address choice: Dovecot treats a connection whose client and server addresses are equal
// as secure, and Linux uses 127.0.0.1 as the source address for every loopback destination,
// so Mail.Host is 127.0.0.2: there Dovecot enforces LOGINDISABLED before STARTTLS as a
// remote server would.
//
// Delivery: Postfix delivers example.test mail over LMTP to a tiny TCP relay in the test
// process, which forwards to Dovecot's LMTP port. Mail.StopLMTP closes that relay (Postfix
// then gets "connection refused" and defers the mail) and Mail.StartLMTP reopens it on the
// same port and asks Postfix to retry the deferred mail at once. This is synchronous,
// unlike a Postfix or Dovecot reload.
//
// Pitfalls met while writing this (kept here so nobody meets them twice):
//   - Postfix re-reads main.cf every 300 ms until its mtime is over a second old; freshly
//     written configuration files are dated back a minute, or start-up costs ~2 s.
//   - Postfix's inet_interfaces must name addresses that an interface has (127.0.0.2 is
//     only routed, not assigned), so each smtpd listener in master.cf names its address.
//   - Postfix's master logs start-up errors only to syslog (no /dev/log here): when it
//     exits early, StartMail checks the ports itself and runs "postfix check" under
//     script(1) to get the message into the failure.
//   - smtpd with SASL connects to Dovecot's auth socket when it starts and, failing that,
//     exits and gets throttled by master: Postfix starts only once that socket answers.
//   - Dovecot delays logins after failures from an IP (anvil auth penalty, up to 15 s) and
//     every test connects from 127.0.0.1: the penalty is disabled.
//   - Dovecot takes ~1 s to stop after SIGTERM, Postfix a few ms; Stop waits for both, in
//     parallel.
//
// No test traffic leaves the machine: Postfix has default_transport and relay_transport set
// to error:, DNS support disabled and no peer name lookups; Dovecot has a fixed hostname.
package peers
