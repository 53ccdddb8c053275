// Package linux is gosv's level 1: the Linux x86-64 syscall ABI served to
// the app. An app thread is a Task whose goroutine enters the app through
// machine.RunApp and handles each syscall, fault and interrupt in plain Go.
//
// Files by family: sys_file.go (files and directories), sys_mem.go
// (memory), sys_thread.go (threads, futex), sys_time.go, sys_signal.go,
// sys_event.go (epoll, eventfd, poll, pipes), sys_misc.go. Every handler
// has the shape of SyscallFn and returns the value for RAX or an errno.
//
// The package is ordinary Go and runs on the host in `go test` with fake
// Mem and Pager implementations; only kernel.go talks to package machine.
package linux
