package roundtrip

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Headers that mark probe messages. SEARCH HEADER matches substrings
// (RFC 9051 6.4.4), so the roundtrip's name is framed as "rt=<name>;" to
// keep "loop" from matching "loop2".
const (
	headerRoundtrip = "X-Mail-Exporter-Roundtrip"
	headerToken     = "X-Mail-Exporter-Token"
)

func roundtripTag(name string) string { return "rt=" + name + ";" }

// watcher is the IMAP side of one roundtrip.
type watcher struct {
	check      Check
	token      string
	log        *slog.Logger
	ready      chan struct{}  // closed once the mailbox is open and cleaned
	accepted   chan time.Time // the submission's acceptance time
	arrivals   chan struct{}  // poked by unsolicited EXISTS during IDLE
	acceptedAt time.Time
	visible    time.Time
	cleaned    int
	raw        []byte // the arrived message, for verification
	fetchErr   error  // why raw is nil
}

func (w *watcher) arrived() {
	select {
	case w.arrivals <- struct{}{}:
	default:
	}
}

// watch opens the mailbox, removes leftovers of earlier runs of this
// roundtrip, then waits for the token, fetches the message and removes it.
func (w *watcher) watch(ctx context.Context, c *imapclient.Client) error {
	if _, err := c.Select(w.check.Mailbox, nil).Wait(); err != nil {
		return fmt.Errorf("SELECT %s: %w", w.check.Mailbox, err)
	}
	old, err := search(c, headerRoundtrip, roundtripTag(w.check.Name))
	if err != nil {
		return err
	}
	if err := remove(c, old); err != nil {
		return err
	}
	w.cleaned += len(old)
	close(w.ready)

	select {
	case w.acceptedAt = <-w.accepted:
	case <-ctx.Done():
		return ctx.Err()
	}
	found, err := w.wait(ctx, c)
	if err != nil {
		return err
	}
	w.visible = time.Now()
	w.raw, w.fetchErr = fetchMessage(c, found[0])
	w.cleaned += len(found)
	return remove(c, found)
}

// wait returns the UIDs carrying the token. It uses IDLE (RFC 2177) where
// offered, so that an announced arrival is seen at once, and polling
// otherwise. Either way it searches again after a wait that starts at
// 100 ms and doubles up to the poll interval: servers may announce late
// (Dovecot batches IDLE notifications for about half a second), and most
// mail arrives within the first second, where precision matters most.
func (w *watcher) wait(ctx context.Context, c *imapclient.Client) ([]imap.UID, error) {
	poll := w.check.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	idle := c.Caps().Has(imap.CapIdle)
	for d := min(100*time.Millisecond, poll); ; d = min(2*d, poll) {
		uids, err := search(c, headerToken, w.token)
		if err != nil || len(uids) > 0 {
			return uids, err
		}
		if idle {
			if err := w.idle(ctx, c, d); err != nil {
				return nil, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
	}
}

// idle waits up to d for the server to announce a change.
func (w *watcher) idle(ctx context.Context, c *imapclient.Client, d time.Duration) error {
	cmd, err := c.Idle()
	if err != nil {
		return err
	}
	select {
	case <-w.arrivals:
	case <-time.After(d):
	case <-ctx.Done():
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func search(c *imapclient.Client, header, value string) ([]imap.UID, error) {
	data, err := c.UIDSearch(&imap.SearchCriteria{
		Header: []imap.SearchCriteriaHeaderField{{Key: header, Value: value}},
	}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("SEARCH: %w", err)
	}
	return data.AllUIDs(), nil
}

// remove deletes exactly the given messages. With UIDPLUS (RFC 4315) UID
// EXPUNGE removes only them; without it a plain EXPUNGE would also remove
// messages the user had marked \Deleted, so they are only flagged.
func remove(c *imapclient.Client, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return fmt.Errorf("STORE \\Deleted: %w", err)
	}
	if !c.Caps().Has(imap.CapUIDPlus) {
		return nil
	}
	if err := c.UIDExpunge(set).Close(); err != nil {
		return fmt.Errorf("UID EXPUNGE: %w", err)
	}
	return nil
}
