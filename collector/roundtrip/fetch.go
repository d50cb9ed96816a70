package roundtrip

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// MaxMessageSize bounds the message fetched for verification: the probe
// message is under 1 KiB, and what receivers add (Received,
// Authentication-Results, ARC sets, signatures) stays far below this.
const MaxMessageSize = 1 << 20

// ErrTooLarge is returned for a message over MaxMessageSize.
var ErrTooLarge = errors.New("message too large to verify")

// fetchMessage reads the whole message (RFC 9051 6.4.5 BODY.PEEK[], which
// leaves \Seen alone), after checking its RFC822.SIZE against the bound.
func fetchMessage(c *imapclient.Client, uid imap.UID) ([]byte, error) {
	set := imap.UIDSetNum(uid)
	sizes, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("FETCH RFC822.SIZE: %w", err)
	}
	if len(sizes) != 1 {
		return nil, fmt.Errorf("FETCH RFC822.SIZE: %d messages for UID %d", len(sizes), uid)
	}
	if n := sizes[0].RFC822Size; n > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, MaxMessageSize)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("FETCH BODY.PEEK[]: %w", err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("FETCH BODY.PEEK[]: %d messages for UID %d", len(msgs), uid)
	}
	body := msgs[0].FindBodySection(sec)
	if body == nil {
		return nil, errors.New("FETCH BODY.PEEK[]: no body in the answer")
	}
	if len(body) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes sent, limit %d", ErrTooLarge, len(body), MaxMessageSize)
	}
	return body, nil
}
