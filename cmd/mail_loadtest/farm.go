package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The farm's fixed identity: what targets.yaml, the floor and blackbox's
// module all use.
const (
	farmName     = "mail.example.test"
	farmUser     = "monitor@example.test"
	farmPassword = "load-test-Pa55word"
	ehloName     = "probe.example.test"
)

// farmInfo is what the farm writes to DIR/farm.json once every listener is up.
type farmInfo struct {
	PID       int    `json:"pid"`
	CAFile    string `json:"ca_file"`
	StartTLS  []int  `json:"starttls_ports"` // SMTP submission, STARTTLS, AUTH PLAIN after TLS
	Implicit  []int  `json:"implicit_ports"` // SMTP submissions, implicit TLS
	Delayed   int    `json:"delayed_port"`   // STARTTLS, greeting delayed by Delay
	DelayNano int64  `json:"delay_ns"`       // the delayed listener's greeting delay
	Started   string `json:"started"`        // RFC 3339
	// Who to be: written by --real-server runs; the farm's own identity when empty.
	Host         string `json:"host,omitempty"`
	ServerName   string `json:"server_name,omitempty"`
	User         string `json:"user,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
	Password     string `json:"-"` // read from PasswordFile
}

func readFarmInfo(path string) (*farmInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fi farmInfo
	if err := json.Unmarshal(b, &fi); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi.Host == "" {
		fi.Host, fi.ServerName, fi.User, fi.Password = "127.0.0.1", farmName, farmUser, farmPassword
		return &fi, nil
	}
	pw, err := os.ReadFile(fi.PasswordFile)
	if err != nil {
		return nil, err
	}
	fi.Password = strings.TrimRight(string(pw), "\r\n")
	return &fi, nil
}

// runFarm serves a cheap SMTP farm on 127.0.0.1: many listeners, each
// speaking the minimal submission dialogue (greeting, EHLO, STARTTLS, TLS,
// EHLO, AUTH PLAIN, QUIT) with as little work per connection as possible.
// It runs as its own process so that its CPU is never counted as the
// prober's.
func runFarm(args []string) int {
	fs := flag.NewFlagSet("farm", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for ca.pem and farm.json (required)")
	n := fs.Int("listeners", 1000, "STARTTLS listeners")
	nImplicit := fs.Int("implicit-listeners", 0, "implicit-TLS listeners")
	delay := fs.Duration("greeting-delay", 200*time.Millisecond, "greeting delay of the one extra 'delayed' listener")
	cert := fs.String("cert", certECDSA, "certificate case: "+strings.Join(certCases, " | "))
	_ = fs.Parse(args)
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "farm: --dir is required")
		return 2
	}

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "farm:", err)
		return 1
	}
	tlsCfg, caPEM, err := farmPKI(*cert)
	if err != nil {
		fmt.Fprintln(os.Stderr, "farm:", err)
		return 1
	}
	caFile := filepath.Join(*dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "farm:", err)
		return 1
	}
	info := farmInfo{PID: os.Getpid(), CAFile: caFile, DelayNano: int64(*delay), Started: time.Now().Format(time.RFC3339)}
	listen := func(h *handler) (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		go h.serve(l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	plain := &handler{tls: tlsCfg}
	implicit := &handler{tls: tlsCfg, implicit: true}
	for range *n {
		p, err := listen(plain)
		if err != nil {
			fmt.Fprintln(os.Stderr, "farm: listen:", err)
			return 1
		}
		info.StartTLS = append(info.StartTLS, p)
	}
	for range *nImplicit {
		p, err := listen(implicit)
		if err != nil {
			fmt.Fprintln(os.Stderr, "farm: listen:", err)
			return 1
		}
		info.Implicit = append(info.Implicit, p)
	}
	if info.Delayed, err = listen(&handler{tls: tlsCfg, delay: *delay}); err != nil {
		fmt.Fprintln(os.Stderr, "farm: listen:", err)
		return 1
	}
	b, _ := json.Marshal(info)
	tmp := filepath.Join(*dir, "farm.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "farm:", err)
		return 1
	}
	if err := os.Rename(tmp, filepath.Join(*dir, "farm.json")); err != nil {
		fmt.Fprintln(os.Stderr, "farm:", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return 0
}

// handler speaks the farm's dialogue on every connection of a listener.
type handler struct {
	tls      *tls.Config
	implicit bool
	delay    time.Duration
}

var (
	authPlainOK = "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+farmUser+"\x00"+farmPassword))
	ehloPlain   = []byte("250-" + farmName + "\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n")
	ehloTLS     = []byte("250-" + farmName + "\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250 SIZE 10240000\r\n")
	greeting    = []byte("220 " + farmName + " ESMTP farm\r\n")
)

func (h *handler) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: back off, keep serving
			continue
		}
		go h.conn(c)
	}
}

func (h *handler) conn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	secure := false
	if h.implicit {
		c = tls.Server(c, h.tls)
		secure = true
	}
	if h.delay > 0 {
		time.Sleep(h.delay)
	}
	if _, err := c.Write(greeting); err != nil {
		return
	}
	r := bufio.NewReaderSize(c, 1024)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		verb := line
		if i := bytes.IndexByte(line, ' '); i >= 0 {
			verb = line[:i]
		}
		var reply []byte
		switch {
		case asciiEq(verb, "EHLO"), asciiEq(verb, "HELO"):
			reply = ehloPlain
			if secure {
				reply = ehloTLS
			}
		case asciiEq(verb, "STARTTLS") && !secure:
			if _, err := c.Write([]byte("220 2.0.0 ready to start TLS\r\n")); err != nil {
				return
			}
			if r.Buffered() > 0 { // RFC 3207 section 6: no pipelining into TLS
				return
			}
			c = tls.Server(c, h.tls)
			r.Reset(c)
			secure = true
			continue
		case asciiEq(verb, "AUTH") && secure:
			switch {
			case string(line) == authPlainOK:
				reply = []byte("235 2.7.0 authenticated\r\n")
			case bytes.EqualFold(line, []byte("AUTH PLAIN")):
				if _, err := c.Write([]byte("334 \r\n")); err != nil {
					return
				}
				resp, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				if "AUTH PLAIN "+string(bytes.TrimRight(resp, "\r\n")) == authPlainOK {
					reply = []byte("235 2.7.0 authenticated\r\n")
				} else {
					reply = []byte("535 5.7.8 bad credentials\r\n")
				}
			default:
				reply = []byte("535 5.7.8 bad credentials\r\n")
			}
		case asciiEq(verb, "NOOP"), asciiEq(verb, "RSET"):
			reply = []byte("250 2.0.0 ok\r\n")
		case asciiEq(verb, "QUIT"):
			_, _ = c.Write([]byte("221 2.0.0 bye\r\n"))
			return
		default:
			reply = []byte("502 5.5.2 not implemented\r\n")
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

func asciiEq(b []byte, s string) bool { return bytes.EqualFold(b, []byte(s)) }
