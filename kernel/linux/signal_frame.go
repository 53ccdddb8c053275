package linux

import "golang.org/x/sys/unix"

// runHandler sets up the app to run handler act for sig on return to user
// mode, with a Linux-compatible rt_sigframe. It reports false when the
// frame cannot be written (the caller then kills the process).
func (t *Task) runHandler(sig unix.Signal, act sigaction, info *siginfo) bool {
	return false // filled in by the signals family (sys_signal.go)
}
