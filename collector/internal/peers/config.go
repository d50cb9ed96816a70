package peers

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

var dovecotConf = template.Must(template.New("dovecot.conf").Parse(`# Written by collector/internal/peers for one test; not a production configuration.
protocols = imap pop3 lmtp
listen = {{.Listen}}
base_dir = {{.Dir}}/dovecot/run
state_dir = {{.Dir}}/dovecot/state
instance_name = {{.Instance}}
log_path = {{.Dir}}/dovecot.log
hostname = {{.ServerName}}
postmaster_address = postmaster@{{.Domain}}
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1

ssl = required
ssl_cert = <{{.Dir}}/tls/cert.pem
ssl_key = <{{.Dir}}/tls/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = {{or .AuthFailureDelay "0"}}

mail_location = maildir:~/Maildir
{{- if .Quota}}
mail_plugins = $mail_plugins quota
{{- end}}
namespace inbox {
  inbox = yes
  separator = /
}

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{.Dir}}/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u {{.Dir}}/dovecot/users
}

service imap-login {
  inet_listener imap {
    port = {{.Ports.imap}}
  }
  inet_listener imaps {
    port = {{.Ports.imaps}}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = {{.Ports.pop3}}
  }
  inet_listener pop3s {
    port = {{.Ports.pop3s}}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = {{.Ports.lmtp}}
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
# No growing delay after failed logins from an IP (every test connects from 127.0.0.1):
# a test of a wrong password must not slow down the tests after it.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
{{- if .Quota}}
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage={{.Quota}}
}
{{- end}}
{{- range .DovecotExtra}}
{{.}}
{{- end}}
`))

var postfixMain = template.Must(template.New("main.cf").Parse(`# Written by collector/internal/peers for one test; not a production configuration.
compatibility_level = 3.6
queue_directory = {{.Dir}}/postfix/queue
data_directory = {{.Dir}}/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {{.ServerName}}
mydomain = {{.Domain}}
myorigin = $mydomain
mydestination =
inet_interfaces = {{.InetInterfaces}}
inet_protocols = {{.InetProtocols}}
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP Postfix (mail_exporter test peer)
biff = no
append_dot_mydomain = no
readme_directory = no

# Nothing leaves this machine, and nothing asks a resolver.
default_transport = error:outbound mail is disabled in tests
relay_transport = error:outbound mail is disabled in tests
local_transport = error:local delivery is disabled in tests
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_dns_support_level = disabled
lmtp_host_lookup = native
smtpd_peername_lookup = no

virtual_mailbox_domains = {{.Domains}}
virtual_mailbox_maps = texthash:{{.Dir}}/postfix/etc/vmailbox
virtual_alias_maps =
virtual_transport = lmtp:inet:[127.0.0.1]:{{.RelayPort}}

smtpd_tls_cert_file = {{.Dir}}/tls/cert.pem
smtpd_tls_key_file = {{.Dir}}/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {{.AuthSocket}}
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination

maillog_file = {{.Dir}}/postfix.log
maillog_file_prefixes = {{.Dir}}

# Retry soon: a test that breaks delivery and repairs it should not wait minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
delay_warning_time = 0
notify_classes =
# A daemon that fails at start (say, Dovecot's auth socket went away) is retried after 1s,
# not 60s.
service_throttle_time = 1s
{{- range .PostfixExtra}}
{{.}}
{{- end}}
{{.Milters}}`))

var postfixMasterCf = template.Must(template.New("master.cf").Parse(`# Written by collector/internal/peers. chroot = n everywhere: Dovecot's auth socket is
# reached by absolute path. Postfix accepts in inet_interfaces only addresses that an
# interface has (127.0.0.1 here, not 127.0.0.2), so each listener names its address.
# service   type  private unpriv chroot wakeup maxproc command + args
{{range .Hosts -}}
{{if $.Postscreen -}}
{{.}}:{{$.Ports.smtp}} inet n - n - 1 postscreen
  -o syslog_name=postfix/smtp
{{else -}}
{{.}}:{{$.Ports.smtp}} inet n - n - - smtpd
  -o syslog_name=postfix/smtp
{{end -}}
{{- if $.GreetDelay}}
  -o smtpd_client_restrictions=sleep,{{$.GreetDelay}}
  -o smtpd_delay_reject=no
{{- end}}
{{.}}:{{$.Ports.submission}} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
{{- range $.SubmissionExtra}}
  -o {{.}}
{{- end}}
{{.}}:{{$.Ports.submissions}} inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
{{end -}}
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
smtp       unix  - - n - - smtp
relay      unix  - - n - - smtp
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
lmtp       unix  - - n - - lmtp
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
{{- if .Postscreen}}
smtpd      pass  - - n - - smtpd
  -o syslog_name=postfix/smtp
tlsproxy   unix  - - n - 0 tlsproxy
dnsblog    unix  - - n - 0 dnsblog
{{- end}}
`))

type confData struct {
	Dir, Instance, ServerName, Domain, Domains, Quota string
	Ports                                             map[string]int
	RelayPort                                         int
	Hosts                                             []string
	AuthSocket                                        string
	DovecotExtra, SubmissionExtra                     []string // auth.go
	GreetDelay                                        int      // seconds; 0 = none (greet.go)
	PostfixExtra                                      []string // mx.go
	Milters                                           string   // main.cf lines of WithMilters
	Listen, InetInterfaces, InetProtocols             string   // ipv6.go
	AuthFailureDelay                                  string   // "" = 0
	Postscreen                                        bool     // postscreen.go
}

func (m *Mail) confData() confData {
	return confData{
		Dir:        m.Dir,
		Instance:   filepath.Base(m.Dir),
		ServerName: m.ServerName,
		Domain:     Domain,
		Domains:    strings.Join(m.domains(), ", "),
		Quota:      m.cfg.quota,
		Ports:      m.Ports,
		RelayPort:  m.relayPort,
		Hosts:      m.postfixHosts(),
		AuthSocket: m.authSocket(),

		DovecotExtra:    m.cfg.dovecotExtra,
		SubmissionExtra: m.cfg.submissionExtra,
		GreetDelay:      m.cfg.greetDelay,
		PostfixExtra:    m.cfg.postfixExtra,
		Milters:         milterConf(m.cfg.milters),

		Listen:           m.dovecotListen(),
		InetInterfaces:   m.inetInterfaces(),
		InetProtocols:    m.inetProtocols(),
		AuthFailureDelay: m.cfg.authFailureDelay,
		Postscreen:       m.cfg.postscreen,
	}
}

func writeTemplate(path string, tmpl *template.Template, data any, mode os.FileMode) error {
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return err
	}
	return writeOldFile(path, []byte(b.String()), mode)
}

// writeOldFile writes a file and dates it a minute back. Postfix reads a configuration
// file again and again, 300 ms apart, until its mtime is more than a second old (so as not
// to catch an editor half-way): a fresh main.cf costs ~2 s of start-up.
func writeOldFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	old := time.Now().Add(-time.Minute)
	return os.Chtimes(path, old, old)
}

func (m *Mail) writeDovecot() error {
	for _, d := range []string{"dovecot", "dovecot/run", "dovecot/state"} {
		if err := os.MkdirAll(m.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := m.writePasswd(); err != nil {
		return err
	}
	return writeTemplate(m.path("dovecot", "dovecot.conf"), dovecotConf, m.confData(), 0o644)
}

func lookupID(name string, group bool) (int, error) {
	var s string
	if group {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, err
		}
		s = g.Gid
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, err
		}
		s = u.Uid
	}
	return strconv.Atoi(s)
}

// writePostfix writes main.cf, master.cf and the maps, and creates the queue and data
// folders with the owners and modes that "postfix start" (postfix-files) would give them,
// so that master can be run directly.
func (m *Mail) writePostfix() error {
	pfUID, err := lookupID("postfix", false)
	if err != nil {
		return err
	}
	pfGID, err := lookupID("postfix", true)
	if err != nil {
		return err
	}
	dropGID, err := lookupID("postdrop", true)
	if err != nil {
		return err
	}
	type dirSpec struct {
		path     string
		uid, gid int
		mode     os.FileMode
	}
	q := func(s string) string { return filepath.Join("postfix", "queue", s) }
	dirs := []dirSpec{
		{"postfix", 0, 0, 0o755},
		{"postfix/etc", 0, 0, 0o755},
		{"postfix/queue", 0, 0, 0o755},
		{"postfix/data", pfUID, 0, 0o700},
		{q("pid"), 0, 0, 0o755},
		{q("maildrop"), pfUID, dropGID, 0o730},
		{q("public"), pfUID, dropGID, 0o710},
	}
	for _, s := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"} {
		dirs = append(dirs, dirSpec{q(s), pfUID, pfGID, 0o700})
	}
	for _, d := range dirs {
		p := m.path(d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	var vmailbox strings.Builder
	for _, u := range m.sortedUsers() {
		fmt.Fprintf(&vmailbox, "%s OK\n", u)
	}
	if err := writeOldFile(m.path("postfix", "etc", "vmailbox"), []byte(vmailbox.String()), 0o644); err != nil {
		return err
	}
	data := m.confData()
	if err := writeTemplate(m.path("postfix", "etc", "main.cf"), postfixMain, data, 0o644); err != nil {
		return err
	}
	return writeTemplate(m.path("postfix", "etc", "master.cf"), postfixMasterCf, data, 0o644)
}
