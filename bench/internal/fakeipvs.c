/*
 * fakeipvs.so: an LD_PRELOAD shim for bench/daemon.sh only.
 *
 * This machine's kernel has no IPVS. keepalived 2.2.7's checker child
 * treats a failed IPVS init as fatal and the parent then stops the whole
 * daemon, so Debian's keepalived cannot run the seed config here at all.
 * To compare idle resources with the seed config anyway, this shim answers
 * the IPVS socket options (level IPPROTO_IP, IP_VS_BASE_CTL .. +15) as an
 * empty IPVS 1.2.1 would: every SET succeeds, every GET returns zeros
 * except GET_INFO, which reports the version. keepalived's genetlink probe
 * still fails (no "IPVS" family), so it falls back to these socket options.
 * Nothing is forwarded; the checkers, VRRP and scripts run for real.
 * Every other socket option goes to libc untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IPVS_BASE 1152 /* IP_VS_BASE_CTL = 64+1024+64 */
#define IPVS_LAST (IPVS_BASE + 15)
#define IPVS_GET_INFO (IPVS_BASE + 1)

static int is_ipvs(int level, int optname)
{
	return level == IPPROTO_IP && optname >= IPVS_BASE && optname <= IPVS_LAST;
}

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	static int (*real)(int, int, int, void *, socklen_t *);

	if (is_ipvs(level, optname)) {
		if (optval && optlen)
			memset(optval, 0, *optlen);
		if (optname == IPVS_GET_INFO && optval && optlen && *optlen >= 3 * sizeof(unsigned int)) {
			unsigned int *info = optval;
			info[0] = (1 << 16) | (2 << 8) | 1; /* version 1.2.1 */
			info[1] = 4096;                     /* connection table size */
			info[2] = 0;                        /* services */
		}
		return 0;
	}
	if (!real)
		real = (int (*)(int, int, int, void *, socklen_t *))dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, optname, optval, optlen);
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (is_ipvs(level, optname))
		return 0;
	if (!real)
		real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, optname, optval, optlen);
}
