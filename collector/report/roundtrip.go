package report

import (
	"fmt"

	"github.com/mail-exporter/mail_exporter/collector/roundtrip"
)

// Roundtrip builds the item for one end-to-end check.
func Roundtrip(name string, r *roundtrip.Result) Item {
	it := Item{Name: name, Figures: map[string]float64{}}
	if r.Success {
		it.Summary = fmt.Sprintf("delivered in %s", ms(r.Delivery))
		it.Figures["delivery_seconds"] = r.Delivery.Seconds()
		it.Status = OK
		it.Findings = []Finding{}
		return it
	}
	it.Summary = string(r.Reason)
	adv := map[roundtrip.Reason]string{
		roundtrip.ReasonSend:         "The submission endpoint could not be used (connect, TLS or login): see that endpoint's own result.",
		roundtrip.ReasonSendRefused:  "The server refused the message: check the sender and recipient addresses, relay restrictions and the server's log for the reason.",
		roundtrip.ReasonReceive:      "The mailbox could not be opened over IMAP: see the IMAP endpoint's own result.",
		roundtrip.ReasonNotDelivered: "The message was accepted but did not arrive in time: look at the mail queue (postqueue -p), the delivery agent (LMTP) and filters.",
		roundtrip.ReasonSendTempfail: "The server answered 4xx (try again later): greylisting, a milter or a full queue. The next run tries again; a lasting 4xx means outside senders are delayed too.",
		roundtrip.ReasonDKIM:         "The message arrived without a passing DKIM signature aligned with dkim_domain: receivers applying DMARC will quarantine or reject it. Check the signer (milter) and that its key matches the selector's TXT record.",
	}[r.Reason]
	it.Findings = []Finding{{Status: Critical, Code: string(r.Reason), Message: r.Error, Advice: adv}}
	it.Status = Critical
	return it
}
