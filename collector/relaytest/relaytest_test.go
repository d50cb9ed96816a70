package relaytest

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// fakeServer answers each command with the reply script gives for its
// prefix ("MAIL", "RCPT TO:<@", ...: the longest matching prefix wins), and
// records what it was sent. A reply of "" means: never answer.
type fakeServer struct {
	script map[string]string
	got    chan string
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	defer close(f.got)
	br := bufio.NewReader(c)
	_, _ = c.Write([]byte("220 mx.example.net ESMTP\r\n"))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		f.got <- line
		reply, best := "250 ok\r\n", -1
		if strings.HasPrefix(line, "EHLO") {
			reply = "250-mx.example.net\r\n250 8BITMIME\r\n"
		}
		for p, r := range f.script {
			if strings.HasPrefix(line, p) && len(p) > best {
				reply, best = r, len(p)
			}
		}
		if reply == "" {
			continue // never answer; the next read ends when the client hangs up
		}
		if _, err := c.Write([]byte(reply)); err != nil {
			return
		}
		if strings.HasPrefix(reply, "421") {
			return
		}
	}
}

// run starts a fake server with script and runs a relay test against it.
func run(t *testing.T, script map[string]string) (*Result, error, []string) {
	t.Helper()
	cli, srv := net.Pipe()
	f := &fakeServer{script: script, got: make(chan string, 100)}
	go f.serve(srv)
	_ = cli.SetDeadline(time.Now().Add(2 * time.Second))
	c := smtp.NewClient(cli)
	c.CommandTimeout = time.Second
	defer c.Close()
	if err := c.Hello("probe.example.org"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	res, err := Run(context.Background(), c, Config{From: "relay-test@probe.example.org", ServerDomain: "mx.example.net"})
	c.Close()
	var sent []string
	for l := range f.got {
		sent = append(sent, l)
	}
	return res, err, sent
}

func TestRun(t *testing.T) {
	cases := []struct {
		name     string
		script   map[string]string
		verdict  Verdict
		accepted []Variant
		tempfail bool
		err      bool
	}{
		{"refused", map[string]string{"RCPT": "554 5.7.1 <x>: Relay access denied\r\n"}, Refused, nil, false, false},
		{"open", map[string]string{}, Open, Variants, false, false},
		{"open only to the percent hack", map[string]string{
			"RCPT":                 "550 5.7.1 relaying denied\r\n",
			"RCPT TO:<relay":       "250 2.1.5 ok\r\n", // relay-test%example.invalid@mx.example.net
			"RCPT TO:<relay-test@": "550 5.7.1 relaying denied\r\n",
		}, Open, []Variant{PercentHack}, false, false},
		{"postfix defer_unauth_destination", map[string]string{"RCPT": "454 4.7.1 <relay-test@example.invalid>: Relay access denied\r\n"},
			Refused, nil, false, false},
		{"greylisted, multi-line", map[string]string{"RCPT": "450-4.2.0 Greylisted, see\r\n450-4.2.0 http://example.net/grey\r\n450 4.2.0 try again later\r\n"},
			Inconclusive, nil, true, false},
		{"greylisting with 4.7.1", map[string]string{"RCPT": "451 4.7.1 Please try again later\r\n"}, Inconclusive, nil, true, false},
		{"sender deferred", map[string]string{"MAIL": "451 4.3.0 try later\r\n"}, Inconclusive, nil, true, false},
		{"sender refused", map[string]string{"MAIL": "553 5.1.8 sender domain unknown\r\n"}, Inconclusive, nil, false, false},
		{"one variant deferred", map[string]string{"RCPT": "550 no\r\n", "RCPT TO:<@": "450 later\r\n"}, Inconclusive, nil, true, false},
		{"421 at RCPT", map[string]string{"RCPT": "421 4.7.0 too many errors\r\n"}, Inconclusive, nil, true, false},
		{"garbage at RCPT", map[string]string{"RCPT": "hello there\r\n"}, Inconclusive, nil, false, true},
		{"3xx at RCPT", map[string]string{"RCPT": "354 go ahead\r\n"}, Inconclusive, nil, false, true},
		{"silent at RCPT", map[string]string{"RCPT": ""}, Inconclusive, nil, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err, sent := run(t, tc.script)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil && !errors.Is(err, ErrSession) {
				t.Errorf("err = %v, want it to wrap ErrSession", err)
			}
			if res.Verdict != tc.verdict {
				t.Errorf("verdict = %s, want %s (replies %+v)", res.Verdict, tc.verdict, res.Rcpts)
			}
			if res.Tempfail != tc.tempfail {
				t.Errorf("tempfail = %v, want %v", res.Tempfail, tc.tempfail)
			}
			for _, v := range Variants {
				want := false
				for _, a := range tc.accepted {
					want = want || a == v
				}
				if res.Accepted(v) != want {
					t.Errorf("accepted(%s) = %v, want %v", v, res.Accepted(v), want)
				}
			}
			for _, l := range sent {
				if strings.HasPrefix(strings.ToUpper(l), "DATA") {
					t.Errorf("sent DATA: %q", l)
				}
			}
			if err == nil && !res.Closing() && (len(sent) == 0 || sent[len(sent)-1] != "RSET") {
				t.Errorf("last command %v, want RSET", sent)
			}
		})
	}
}

func TestCommandsSent(t *testing.T) {
	_, err, sent := run(t, map[string]string{"RCPT": "550 no\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"EHLO probe.example.org",
		"MAIL FROM:<relay-test@probe.example.org> BODY=8BITMIME",
		"RCPT TO:<relay-test@example.invalid>",
		"RCPT TO:<relay-test%example.invalid@mx.example.net>",
		"RCPT TO:<@mx.example.net:relay-test@example.invalid>",
		"RSET",
	}
	if strings.Join(sent, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(sent, "\n"), strings.Join(want, "\n"))
	}
}

func TestRecipients(t *testing.T) {
	got := Recipients(Config{Recipient: "probe@relay.example", ServerDomain: "[192.0.2.1]"})
	want := map[Variant]string{
		Plain:       "probe@relay.example",
		PercentHack: "probe%relay.example@[192.0.2.1]",
		SourceRoute: "@[192.0.2.1]:probe@relay.example",
	}
	for v, w := range want {
		if got[v] != w {
			t.Errorf("%s = %q, want %q", v, got[v], w)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		out  Outcome
		code int
		text string
	}{
		{nil, Accept, 250, ""},
		{&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}, Refuse, 550, "5.7.1 Relay access denied"},
		{&smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "<a@b>: Relay access denied"}, Refuse, 454, "4.7.1 <a@b>: Relay access denied"},
		{&smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "relay later"}, Defer, 450, "4.2.0 relay later"},
		{&smtp.SMTPError{Code: 451, Message: "try\nagain"}, Defer, 451, "try again"},
		{&smtp.SMTPError{Code: 354, Message: "go on"}, NoReply, 354, "go on"},
		{errors.New("short response: hi"), NoReply, 0, "short response: hi"},
		{&smtp.SMTPError{Code: 550, Message: strings.Repeat("é", 150)}, Refuse, 550, strings.Repeat("é", 100) + "…"},
	}
	for _, tc := range cases {
		out, code, text := Classify(tc.err)
		if out != tc.out || code != tc.code || text != tc.text {
			t.Errorf("Classify(%v) = %s %d %q, want %s %d %q", tc.err, out, code, text, tc.out, tc.code, tc.text)
		}
	}
}
