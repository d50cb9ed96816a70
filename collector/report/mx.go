package report

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/mail-exporter/mail_exporter/collector/banner"
	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/probe"
	"github.com/mail-exporter/mail_exporter/collector/relaytest"
)

// mxSummary is the relay verdict and the banner for the summary line.
func mxSummary(r *probe.Result) []string {
	var parts []string
	if b := r.Banner; b != nil && b.GreetingHost != "" {
		parts = append(parts, "banner "+b.GreetingHost)
	}
	if rl := r.Relay; rl != nil {
		parts = append(parts, "relay "+string(rl.Verdict))
	}
	return parts
}

// mxFindings are the inbound-MX findings: an open relay, an inconclusive
// relay test, and a banner that neither the PTR nor the MX name matches.
func mxFindings(host string, ep *config.Endpoint, r *probe.Result) []Finding {
	var fs []Finding
	if rl := r.Relay; rl != nil {
		switch rl.Verdict {
		case relaytest.Open:
			fs = append(fs, Finding{Status: Critical, Code: CodeOpenRelay, Message: "open relay: " + relayReplies(rl, relaytest.Accept),
				Advice: "Anyone can send mail through this server: it will be blocklisted within hours. Relay only for your own clients and logged-in users " +
					"(Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, with mynetworks " +
					"listing only your hosts; Exim: relay_from_hosts and the acl_smtp_rcpt \"accept domains = +relay_to_domains\" rule; " +
					"Sendmail: no \"RELAY\" in the access map for outside networks, FEATURE(`promiscuous_relay') off). Then check the queue for spam already accepted."})
		case relaytest.Inconclusive:
			fs = append(fs, Finding{Status: Warning, Code: CodeRelayUnknown, Message: "relay test inconclusive: " + relayReplies(rl, ""),
				Advice: "The server neither accepted nor refused the foreign recipient (a 4xx, or no answer), so it is not known whether it relays. " +
					"A greylisting or rate-limiting server answers so: the next runs may tell; allow the exporter's address past the policy to get a verdict."})
		}
	}
	b := r.Banner
	// The banner matters where other MTAs connect: port 25, or an endpoint
	// the relay test treats as an MX (see EndpointSection).
	if b == nil || b.GreetingHost == "" || EndpointSection(ep) != "mx" {
		return fs
	}
	// RFC 5321 4.1.1.1 and 4.3.1: the greeting and the EHLO reply each name the
	// server; both are what receivers and filters see. The EHLO name is judged
	// only where it differs from the greeting's.
	names := []struct{ what, name string }{{"greeting", b.GreetingHost}}
	if b.EHLOHost != "" && b.EHLOHost != b.GreetingHost {
		names = append(names, struct{ what, name string }{"EHLO reply", b.EHLOHost})
	}
	for _, n := range names {
		if b.PTRChecked && !b.IsPTRName(n.name) {
			ptrs := "has no PTR record"
			if len(b.PTRNames) > 0 {
				ptrs = "has PTR " + strings.Join(b.PTRNames, ", ")
			}
			fs = append(fs, Finding{Status: Warning, Code: CodeBannerPTR,
				Message: fmt.Sprintf("%s names %s, but the address dialled %s", n.what, n.name, ptrs),
				Advice: "Receivers compare the banner with the reverse DNS of the address (spam filters score a mismatch). Make them agree: " +
					"set the server's name to the PTR name (Postfix: myhostname, or smtpd_banner = $myhostname ESMTP; Exim: primary_hostname or smtp_active_hostname), " +
					"or have the address owner set the PTR to " + n.name + " (with an A/AAAA record back to the address). Forward-confirmed reverse DNS is the ptr check's business."})
		}
		if _, err := netip.ParseAddr(host); err != nil && !banner.SameName(n.name, host) {
			fs = append(fs, Finding{Status: Warning, Code: CodeBannerMX,
				Message: fmt.Sprintf("%s names %s, not the MX name %s", n.what, n.name, strings.TrimSuffix(strings.ToLower(host), ".")),
				Advice: "Senders connect to the MX name and see another name in the banner; harmless for delivery, but it confuses diagnosis and TLS name checks. " +
					"Point the MX at the name the server uses (and its certificate covers), or set the server's name (Postfix: myhostname) to the MX name."})
		}
	}
	return fs
}

// relayReplies quotes the RCPT replies of the given outcome ("" = all).
func relayReplies(rl *relaytest.Result, want relaytest.Outcome) string {
	var out []string
	if rl.Mail.Outcome != relaytest.Accept {
		out = append(out, fmt.Sprintf("%s → %s", rl.Mail.Command, replyText(rl.Mail)))
	}
	for _, rp := range rl.Rcpts {
		if want == "" || rp.Outcome == want {
			out = append(out, fmt.Sprintf("%s (%s) → %s", rp.Command, rp.Variant, replyText(rp)))
		}
	}
	return strings.Join(out, "; ")
}

func replyText(rp relaytest.Reply) string {
	if rp.Code == 0 {
		return "no reply: " + rp.Text
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", rp.Code, rp.Text))
}
