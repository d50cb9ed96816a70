package peers

import "testing"

func TestSmoke(t *testing.T) {
	m := StartMail(t)
	t.Log(m.Logs(50))
}
