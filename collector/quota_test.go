package collector

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/internal/peers"
)

// doveadmStorage returns (used, limit) of the STORAGE quota in KiB as
// `doveadm quota get` reports them.
func doveadmStorage(t *testing.T, m *peers.Mail) (int64, int64) {
	t.Helper()
	out, err := m.Doveadm("quota", "get", "-u", m.User)
	if err != nil {
		t.Fatal(err)
	}
	// Quota name  Type     Value  Limit  %
	// User quota  STORAGE  12     1024   1
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if w == "STORAGE" && i+2 < len(f) {
				used, _ := strconv.ParseInt(f[i+1], 10, 64)
				limit, _ := strconv.ParseInt(f[i+2], 10, 64)
				return used, limit
			}
		}
	}
	t.Fatalf("no STORAGE line in doveadm output:\n%s", out)
	return 0, 0
}

func TestRealPeersQuota(t *testing.T) {
	m := peers.StartMail(t, peers.WithQuota("2M"))
	path := realConfig(t, m, m.Password)

	check := func() (float64, float64) {
		exp := runConfig(t, path)
		used := series(t, exp, "mail_mailbox_quota_used_bytes")
		limit := series(t, exp, "mail_mailbox_quota_limit_bytes")
		for _, ep := range []string{"imap", "imaps"} {
			if _, ok := used[ep]; !ok {
				t.Fatalf("%s: no quota series", ep)
			}
		}
		for _, ep := range []string{"smtp", "submission", "pop3s"} {
			if _, ok := used[ep]; ok {
				t.Errorf("%s: quota series on a non-IMAP endpoint", ep)
			}
		}
		return used["imaps"], limit["imaps"]
	}
	used, limit := check()
	du, dl := doveadmStorage(t, m)
	if used != float64(du*1024) || limit != float64(dl*1024) || limit != 2<<20 {
		t.Errorf("exported used=%v limit=%v, doveadm says %d KiB of %d KiB", used, limit, du, dl)
	}

	// Deliver a message of ~50 KiB; usage must grow by about that much.
	body := strings.Repeat("quota filler line of text\r\n", 2000)
	m.Deliver(t, "", body)
	m.WaitMessages(t, m.User, 1, 10*time.Second)
	used2, _ := check()
	du2, _ := doveadmStorage(t, m)
	if used2 != float64(du2*1024) || used2-used < 40<<10 {
		t.Errorf("after delivery: exported used=%v (was %v), doveadm %d KiB", used2, used, du2)
	}
	t.Logf("quota: before %v bytes, after %v bytes, limit %v bytes", used, used2, limit)
}
