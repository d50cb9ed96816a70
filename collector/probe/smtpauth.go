package probe

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// SMTP AUTH (RFC 4954) and QUIT on the probe's own reader, for the probe
// that only logs in. The probes that go on to transactions use go-smtp's
// client for both (smtpAuth).

// maxSASLRounds bounds the challenges one AUTH may bring: PLAIN takes none,
// LOGIN one. go-sasl's LOGIN answers every "Password:" with the password, so
// a server that keeps asking is cut off here rather than followed.
const maxSASLRounds = 4

// smtpAuthLine logs in with PLAIN where offered, else LOGIN, the initial
// response on the AUTH line (RFC 4954 4).
func smtpAuthLine(s *session, lr *lineReader, mechs []string, cred *config.Credential) error {
	a, err := smtpSASL(mechs, cred)
	if err != nil {
		return err
	}
	mech, ir, err := a.Start()
	if err != nil {
		return fail(ReasonAuth, fmt.Errorf("AUTH: %w", err))
	}
	line := "AUTH " + mech
	switch {
	case len(ir) > 0:
		line += " " + base64.StdEncoding.EncodeToString(ir)
	case ir != nil:
		line += " =" // an empty initial response (RFC 4954 4)
	}
	for round := 0; ; round++ {
		if err := writeLine(s.conn, "%s", line); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
		code, lines, err := lr.readSMTPReply()
		if err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
		switch {
		case code == 235:
			return nil
		case code != 334:
			return fail(ReasonAuth, fmt.Errorf("AUTH refused: %d %s", code, clip(replyText(lines))))
		case round == maxSASLRounds:
			_ = writeLine(s.conn, "*")
			return fail(ReasonAuth, fmt.Errorf("AUTH: over %d challenges", maxSASLRounds))
		}
		// RFC 4954 4: a 334 carries a base64 challenge; "*" cancels.
		resp, err := saslStep(a, lines[0])
		if err != nil {
			_ = writeLine(s.conn, "*")
			_, _, _ = lr.readSMTPReply()
			return fail(ReasonAuth, fmt.Errorf("AUTH: %w", err))
		}
		line = base64.StdEncoding.EncodeToString(resp)
	}
}

// smtpSASL picks PLAIN where offered, else LOGIN.
func smtpSASL(mechs []string, cred *config.Credential) (sasl.Client, error) {
	switch {
	case hasFold(mechs, "PLAIN"):
		return sasl.NewPlainClient("", cred.Username, cred.Password.Reveal()), nil
	case hasFold(mechs, "LOGIN"):
		return sasl.NewLoginClient(cred.Username, cred.Password.Reveal()), nil
	}
	return nil, fail(ReasonAuth, fmt.Errorf("no supported AUTH mechanism offered (have %v)", mechs))
}

var errChallenge = errors.New("the server's challenge is not base64")

func saslStep(a sasl.Client, challenge string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(challenge))
	if err != nil {
		return nil, fmt.Errorf("%w: %q", errChallenge, clip(challenge))
	}
	return a.Next(b)
}

// smtpQuit ends the session (RFC 5321 4.1.1.10). A server that hangs up
// instead of answering 221 has still ended it.
func smtpQuit(s *session, lr *lineReader) error {
	if err := writeLine(s.conn, "QUIT"); err != nil {
		if isClosed(err) {
			return nil
		}
		return fmt.Errorf("QUIT: %w", err)
	}
	code, lines, err := lr.readSMTPReply()
	switch {
	case err != nil && (isClosed(err) || errors.Is(err, errServerClosed)):
		return nil
	case err != nil:
		return fmt.Errorf("QUIT: %w", err)
	case code != 221:
		return protocolError("QUIT refused: %d %s", code, clip(replyText(lines)))
	}
	return nil
}

// replyText is the first line of a reply without its enhanced status code
// (RFC 3463, RFC 2034 3: "5.7.8 Authentication credentials invalid").
func replyText(lines []string) string {
	text := lines[0]
	code, rest, ok := strings.Cut(text, " ")
	if ok && isEnhancedCode(code) {
		return rest
	}
	return text
}

// isEnhancedCode matches class.subject.detail: class 2, 4 or 5, subject
// and detail of one to three digits (RFC 3463 2).
func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
