package net

import (
	"time"

	"gvisor.dev/gvisor/pkg/log"
)

// netstack logs warnings (a listen queue overflowing in a connect storm,
// say) through gVisor's log package, whose default target is the kernel's
// stderr: that is the app's stderr in gosv. They are dropped; the app
// sees what Linux would show it, errnos.
type quiet struct{}

func (quiet) Emit(int, log.Level, time.Time, string, ...any) {}

func init() { log.SetTarget(quiet{}) }
