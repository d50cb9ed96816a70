package pop3

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// AuthPlain authenticates with AUTH PLAIN (RFC 5034 section 4, RFC 4616).
// identity is the authorization identity, usually empty. As with Pass, the
// password goes over the current conn as is; it never appears in errors or
// in Trace.
//
// The credentials go in an initial response on the AUTH line. RFC 5034
// section 4 forbids that when the line would exceed 255 octets; then
// "AUTH PLAIN" is sent alone and the response follows the server's "+ "
// challenge. A server that ignored the initial response and sends an empty
// challenge gets the response once more on its own line (it already has
// it, so nothing new is exposed); any other challenge, or a second one, is
// cancelled with "*" and reported as ErrProtocol: PLAIN has exactly one
// message, so more challenges mean the server is confused or probing.
func (c *Client) AuthPlain(identity, username, password string) error {
	// RFC 4616 section 2: message = [authzid] NUL authcid NUL passwd, and
	// none of them may contain NUL. The base64 line cannot contain CR or
	// LF, so this is the only argument check needed.
	if strings.ContainsRune(identity+username+password, 0) {
		return fmt.Errorf("pop3: AUTH: %w: contains NUL", ErrInvalidArgument)
	}
	resp := base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + username + "\x00" + password))
	c.secrets = []string{password, resp}
	defer func() { c.secrets = nil }()

	initial := "AUTH PLAIN " + resp
	var err error
	if len(initial)+len("\r\n") <= maxCommandLength {
		err = c.send("AUTH", initial, "AUTH PLAIN ****")
	} else {
		err = c.send("AUTH", "AUTH PLAIN", "AUTH PLAIN")
	}
	if err != nil {
		return err
	}
	r, err := c.readReply("AUTH")
	if err != nil {
		return err
	}
	if r.status == statusCont {
		// PLAIN's only challenge is the empty one that asks for the
		// response (RFC 4616 section 2, RFC 4422 section 5).
		if r.text != "" {
			return c.cancel(fmt.Errorf("%w: unexpected non-empty challenge", ErrProtocol))
		}
		if err := c.send("AUTH", resp, "****"); err != nil {
			return err
		}
		if r, err = c.readReply("AUTH"); err != nil {
			return err
		}
		if r.status == statusCont {
			return c.cancel(fmt.Errorf("%w: second challenge", ErrProtocol))
		}
	}
	return c.check("AUTH", r)
}

// cancel aborts an AUTH exchange with "*" (RFC 5034 section 4) and reads
// the server's answer, which must be -ERR, so the dialogue stays in step.
// It returns cause unless the cancellation itself breaks the client.
func (c *Client) cancel(cause error) error {
	if err := c.send("AUTH", "*", "*"); err != nil {
		return err
	}
	r, err := c.readReply("AUTH")
	if err != nil {
		return err
	}
	if r.status != statusErr {
		// The server did not abort the exchange: we cannot know its state.
		return c.fail("AUTH", fmt.Errorf("%w: cancelled AUTH not rejected", ErrProtocol))
	}
	return fmt.Errorf("pop3: AUTH: %w", cause)
}
