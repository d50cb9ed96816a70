// Package testpeers makes the real-server test harness (Dovecot + Postfix
// on loopback, collector/internal/peers) usable from tests outside
// collector/, such as the end-to-end tests of cmd/mail_exporter.
package testpeers

import "github.com/mail-exporter/mail_exporter/collector/internal/peers"

type (
	Mail        = peers.Mail
	MailOption  = peers.MailOption
	CA          = peers.CA
	CertOptions = peers.CertOptions
)

var (
	StartMail = peers.StartMail
	WithQuota = peers.WithQuota
	WithUsers = peers.WithUsers
	WithCert  = peers.WithCert
	WithCA    = peers.WithCA

	WithAuthMechanisms              = peers.WithAuthMechanisms
	WithPlaintextAuth               = peers.WithPlaintextAuth
	WithSubmissionChallengeResponse = peers.WithSubmissionChallengeResponse
	NewCA                           = peers.NewCA

	WithOpenRelay           = peers.WithOpenRelay
	WithDebianRelayDefaults = peers.WithDebianRelayDefaults
	WithMyHostname          = peers.WithMyHostname
	WithSMTPBanner          = peers.WithSMTPBanner
	WithPostscreen          = peers.WithPostscreen
	WithGreylisting         = peers.WithGreylisting
	WithConnectionLimit     = peers.WithConnectionLimit
)

// DKIM signing and verifying milters (collector/internal/peers/opendkim.go).
type (
	DKIMKey         = peers.DKIMKey
	OpenDKIM        = peers.OpenDKIM
	OpenDKIMOptions = peers.OpenDKIMOptions
)

var (
	WithMilters    = peers.WithMilters
	StartOpenDKIM  = peers.StartOpenDKIM
	NewDKIMKey     = peers.NewDKIMKey
	MailDomain     = peers.Domain
	MailServerName = peers.ServerName
	// PostscreenDeferReply is what WithPostscreen answers at RCPT on first contact.
	PostscreenDeferReply = peers.PostscreenDeferReply
	WithIPv6             = peers.WithIPv6
	RequireIPv6          = peers.RequireIPv6
)

// IPv6 is the address WithIPv6 adds to every listener.
const IPv6 = peers.IPv6
