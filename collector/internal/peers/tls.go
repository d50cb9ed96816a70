package peers

// TLS settings of the servers, for TLS posture tests. Each option appends
// settings to dovecot.conf and main.cf; in both files a later setting wins.

// WithLegacyTLS makes Dovecot and Postfix accept TLS 1.0 to 1.3 and every
// cipher suite OpenSSL has, at OpenSSL security level 0, as an old server
// would: then RSA key exchange, 1024-bit RSA keys and SHA-1-signed
// certificates are accepted too. (This OpenSSL build has no RC4 or 3DES.)
func WithLegacyTLS() MailOption {
	return func(c *mailConfig) {
		c.dovecotExtra = append(c.dovecotExtra,
			"ssl_min_protocol = TLSv1",
			"ssl_cipher_list = ALL:@SECLEVEL=0")
		c.postfixExtra = append(c.postfixExtra,
			"smtpd_tls_protocols = >=TLSv1",
			"smtpd_tls_mandatory_protocols = >=TLSv1",
			"smtpd_tls_ciphers = low",
			"smtpd_tls_mandatory_ciphers = low",
			"tls_low_cipherlist = ALL:@SECLEVEL=0",
			"smtpd_tls_exclude_ciphers =",
			"smtpd_tls_mandatory_exclude_ciphers =")
	}
}

// WithModernTLS makes Dovecot and Postfix accept only TLS 1.2 and 1.3 and
// no suite with RSA key exchange, as a server configured today would.
func WithModernTLS() MailOption {
	return func(c *mailConfig) {
		c.dovecotExtra = append(c.dovecotExtra,
			"ssl_min_protocol = TLSv1.2",
			"ssl_cipher_list = ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL")
		c.postfixExtra = append(c.postfixExtra,
			"smtpd_tls_protocols = >=TLSv1.2",
			"smtpd_tls_mandatory_protocols = >=TLSv1.2",
			"smtpd_tls_exclude_ciphers = kRSA, aNULL",
			"smtpd_tls_mandatory_exclude_ciphers = kRSA, aNULL")
	}
}
