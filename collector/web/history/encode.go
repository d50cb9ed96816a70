package history

import (
	"strconv"
	"strings"
	"time"
)

// encodeDuration packs a duration into 16 bits: a 12-bit mantissa and a
// 4-bit exponent of microseconds (value = m << e µs). Exact below 4.096 ms,
// within 1/2048 above, saturating at 4095 << 15 µs ≈ 134 s (beyond any
// probe timeout and the default roundtrip timeout of 2 minutes).
func encodeDuration(d time.Duration) uint16 {
	us := d.Microseconds()
	if us <= 0 {
		return 0
	}
	e := 0
	for us >= 1<<12 {
		us >>= 1
		e++
	}
	if e > 15 {
		return 0xffff
	}
	return uint16(e)<<12 | uint16(us)
}

func decodeDuration(v uint16) time.Duration {
	return time.Duration(int64(v&0xfff)<<(v>>12)) * time.Microsecond
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// cutMiddle keeps the head and the tail of a transcript, at line
// boundaries where there are any: the greeting and the failure both stay.
func cutMiddle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	half := n / 2
	head, tail := s[:half], s[len(s)-half:]
	if i := strings.LastIndexByte(head, '\n'); i > 0 {
		head = head[:i+1]
	}
	if i := strings.IndexByte(tail, '\n'); i >= 0 && i < len(tail)-1 {
		tail = tail[i+1:]
	}
	cut := len(s) - len(head) - len(tail)
	return strings.ToValidUTF8(head, "") + "… " + strconv.Itoa(cut) + " bytes cut …\n" + strings.ToValidUTF8(tail, "")
}
