package pop3

import (
	"reflect"
	"strings"
	"testing"
)

func TestAuthPlain(t *testing.T) {
	long := strings.Repeat("p", 250) // pushes AUTH PLAIN <ir> past 255 octets
	cases := []struct {
		name      string
		d         pop3d
		user, pw  string
		wantErr   bool
		wantLines []string // client lines after the greeting
	}{
		{name: "initial response ok", d: pop3d{user: "u", pass: "pw"}, user: "u", pw: "pw",
			wantLines: []string{"C: AUTH PLAIN ****"}},
		{name: "initial response fail", d: pop3d{user: "u", pass: "pw"}, user: "u", pw: "bad", wantErr: true,
			wantLines: []string{"C: AUTH PLAIN ****"}},
		{name: "server ignores initial response, ok", d: pop3d{user: "u", pass: "pw", ignoreIR: true}, user: "u", pw: "pw",
			wantLines: []string{"C: AUTH PLAIN ****", "C: ****"}},
		{name: "server ignores initial response, fail", d: pop3d{user: "u", pass: "pw", ignoreIR: true}, user: "u", pw: "bad", wantErr: true,
			wantLines: []string{"C: AUTH PLAIN ****", "C: ****"}},
		{name: "too long for initial response, ok", d: pop3d{user: "u", pass: long}, user: "u", pw: long,
			wantLines: []string{"C: AUTH PLAIN", "C: ****"}},
		{name: "too long for initial response, fail", d: pop3d{user: "u", pass: long}, user: "u", pw: long + "x", wantErr: true,
			wantLines: []string{"C: AUTH PLAIN", "C: ****"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serve(t, tc.d.serve)
			tr := transcript(c)
			c.Greeting()
			err := c.AuthPlain("", tc.user, tc.pw)
			if tc.wantErr {
				e := wantPOP3Err(t, err, "AUTH", "AUTH")
				if got := e.Error(); got != "pop3: AUTH: -ERR [AUTH] Authentication failed." {
					t.Errorf("Error() = %q", got)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var sent []string
			for _, l := range *tr {
				if strings.HasPrefix(l, "C: ") {
					sent = append(sent, l)
				}
			}
			if !reflect.DeepEqual(sent, tc.wantLines) {
				t.Errorf("client sent %q, want %q", sent, tc.wantLines)
			}
			if strings.Contains(strings.Join(*tr, "\n"), tc.pw) {
				t.Errorf("password in transcript %q", *tr)
			}
		})
	}
}

// PLAIN has one empty challenge at most; anything else is cancelled with
// "*" and the credentials are not sent again.
func TestAuthPlainUnexpectedChallenge(t *testing.T) {
	c, _ := serve(t, (&pop3d{user: "u", pass: "pw", challenge: "Zm9v"}).serve)
	tr := transcript(c)
	c.Greeting()
	wantIs(t, c.AuthPlain("", "u", "pw"), ErrProtocol)
	want := []string{
		"S: +OK fake POP3 ready <1.2@example.org>",
		"C: AUTH PLAIN ****",
		"S: + Zm9v",
		"C: *",
		"S: -ERR AUTH cancelled",
	}
	if !reflect.DeepEqual(*tr, want) {
		t.Errorf("transcript %q, want %q", *tr, want)
	}
	// The exchange was closed cleanly, so the client still works.
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthPlainEchoMasked(t *testing.T) {
	c, _ := serve(t, (&pop3d{user: "u", pass: "x", echo: true}).serve)
	tr := transcript(c)
	c.Greeting()
	err := c.AuthPlain("", "u", "hunter2")
	wantPOP3Err(t, err, "AUTH", "AUTH")
	// The server echoed the base64 response, which encodes the password.
	if got, want := err.Error(), "pop3: AUTH: -ERR [AUTH] bad credentials ****"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (*tr)[len(*tr)-1]; got != "S: -ERR [AUTH] bad credentials ****" {
		t.Errorf("last trace line %q", got)
	}
}

// The whole debug transcript of a login, with every secret masked.
func TestTraceMasked(t *testing.T) {
	d := &pop3d{user: "probe", pass: "s3cret", caps: []string{"USER", "SASL PLAIN"}, ignoreIR: true}
	c, _ := serve(t, d.serve)
	tr := transcript(c)
	c.Greeting()
	c.Capa()
	c.User("probe")
	c.Pass("wrong")
	if err := c.AuthPlain("", "probe", "s3cret"); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	want := []string{
		"S: +OK fake POP3 ready <1.2@example.org>",
		"C: CAPA",
		"S: +OK capability list follows",
		"S: USER",
		"S: SASL PLAIN",
		"S: .",
		"C: USER probe",
		"S: +OK",
		"C: PASS ****",
		"S: -ERR [AUTH] Authentication failed.",
		"C: AUTH PLAIN ****",
		"S: + ",
		"C: ****",
		"S: +OK logged in",
		"C: QUIT",
		"S: +OK bye",
	}
	if !reflect.DeepEqual(*tr, want) {
		t.Errorf("transcript:\n%s\nwant:\n%s", strings.Join(*tr, "\n"), strings.Join(want, "\n"))
	}
}
