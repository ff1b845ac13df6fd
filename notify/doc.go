// Package notify runs what keepalived calls notifications: notify scripts
// (notify_master, notify, notify_up, vrrp_script, MISC_CHECK misc_path ...),
// lines written to the notify FIFOs, and SMTP alerts.
//
// The pure parts reproduce keepalived 2.2.7 byte for byte: how a configured
// script string becomes argv (SplitQuotedEscaped, ParseScript), the extra
// arguments the generic notify script gets (GenericNotifyArgv), the FIFO line
// formats (InstanceFifoLine, VSFifoLine, RSFifoLine), the script security
// walk and its log texts (CheckScriptSecurity, ResolveDefaultScriptUser) and
// the mail subjects, bodies and SMTP dialogue (SMTPSender).
//
// The I/O shells add what keepalived lacks and operators ask for (notify
// scripts running out of order, hung scripts piling up): the Dispatcher runs
// scripts in their own process group with a timeout, one key (instance) at a
// time in submission order, with bounded concurrency, and never blocks the
// caller; the Mailer sends alerts in the background the same way. The
// Notifier ties them together in keepalived's order for VRRP and checker
// events.
package notify
