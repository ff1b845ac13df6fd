// Package notify runs what keepalived calls notifications: notify scripts
// (notify_master, notify, notify_up, quorum_up, the FIFO scripts ...),
// lines written to the notify FIFOs, and SMTP alerts.
//
// The pure parts reproduce keepalived 2.2.7 byte for byte: the extra
// arguments the generic notify script gets (GenericNotifyArgv), the FIFO line
// formats (InstanceFifoLine, VSFifoLine, RSFifoLine) and the mail subjects,
// bodies and SMTP dialogue (SMTPSender). Splitting a script line, choosing
// its user and the security walk are package script's, below every engine.
//
// The I/O shells add what keepalived lacks and operators ask for (notify
// scripts running out of order, hung scripts piling up): the Dispatcher runs
// scripts in their own process group with a timeout, one key (instance) at a
// time in submission order, with bounded concurrency, and never blocks the
// caller; the Mailer sends alerts in the background the same way. The
// Notifier ties them together in keepalived's order for VRRP and checker
// events.
package notify
