package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mail-exporter/mail_exporter/collector/config"
	"github.com/mail-exporter/mail_exporter/collector/report"
)

func checkDomain(ctx context.Context, f *checkFlags, cred *config.Credential, prog *progress, started time.Time) (*report.Report, error) {
	return nil, fmt.Errorf("%w: domain checks need discovery, which is not built yet", errUsage)
}
