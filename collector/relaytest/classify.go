package relaytest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"
)

// Outcome is how one reply of the test reads.
type Outcome string

const (
	Accept  Outcome = "accept"   // 2xx (RFC 5321 4.2.1: positive completion)
	Refuse  Outcome = "refuse"   // 5xx, or a 4xx that says relaying is denied
	Defer   Outcome = "defer"    // 4xx: transient negative completion, try again later
	NoReply Outcome = "no_reply" // no SMTP reply: timeout, reset, garbage, or a 1xx/3xx where none belongs
)

// Classify reads the result of a MAIL or RCPT command as go-smtp returns it
// (nil for 2xx, *smtp.SMTPError for a reply of another class, another error
// when no reply was read) and returns the outcome, the reply code and the
// server's text.
//
// RFC 5321 4.2.1 gives the class by the first digit. One 4xx reads as a
// refusal: an enhanced status of class 4 subject 7 detail 1 (RFC 3463 3.8,
// "delivery not authorized") whose text says relaying is denied. That is
// Postfix's default since 2.10 (defer_unauth_destination: "454 4.7.1
// <user@example.invalid>: Relay access denied"): the server has decided not
// to relay and only chose a temporary code so that a configuration mistake
// delays mail instead of bouncing it. Greylisting also uses 4.7.1 at times,
// but never says "relay".
func Classify(err error) (Outcome, int, string) {
	if err == nil {
		return Accept, 250, ""
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return NoReply, 0, clip(err.Error())
	}
	text := se.Message
	if ec := se.EnhancedCode; ec != (smtp.EnhancedCode{}) && ec != smtp.NoEnhancedCode {
		text = fmt.Sprintf("%d.%d.%d %s", ec[0], ec[1], ec[2], text)
	}
	text = clip(text)
	switch se.Code / 100 {
	case 2:
		return Accept, se.Code, text
	case 5:
		return Refuse, se.Code, text
	case 4:
		if relayDenied(se) {
			return Refuse, se.Code, text
		}
		return Defer, se.Code, text
	}
	return NoReply, se.Code, text
}

func relayDenied(se *smtp.SMTPError) bool {
	return se.EnhancedCode == smtp.EnhancedCode{4, 7, 1} && strings.Contains(strings.ToLower(se.Message), "relay")
}

// clip keeps server text short, on one line and valid UTF-8.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
