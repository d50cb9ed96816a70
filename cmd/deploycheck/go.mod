module github.com/mail-exporter/mail_exporter/cmd/deploycheck

go 1.26.8
