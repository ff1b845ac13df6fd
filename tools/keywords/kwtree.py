import re,sys,glob
# Extract keepalived's keyword tree from its parser sources (facts only).
DEF={'_WITH_LVS_','_WITH_VRRP_','_WITH_BFD_','_WITH_JSON_','_WITH_NFTABLES_','_WITH_REGEX_CHECK_','_HAVE_VRRP_VMAC_',
 '_WITH_VRRP_AUTH_','_WITH_SNMP_','_WITH_SNMP_VRRP_','_WITH_SNMP_CHECKER_','_WITH_SNMP_RFC_','_WITH_SNMP_RFCV2_','_WITH_SNMP_RFCV3_',
 '_WITH_DBUS_','_HAVE_VRF_','_HAVE_VRRP_IPVLAN_','_WITH_TRACK_PROCESS_','_HAVE_FIB_ROUTING_','IP_VS_SVC_F_SCHED1','_WITH_SNMP_V3_FOR_V2_',
 '_HAVE_SCHED_RT_','_WITH_LINKBEAT_','_HAVE_LIBIPSET_X','_HAVE_IPV6_MULTICAST_ALL_','_HAVE_IPV4_DEVCONF_','_WITH_SYSTEMD_NOTIFY_','_HAVE_DECL_RLIMIT_RTTIME_',
 '_HAVE_DECL_CLONE_NEWNET_','_HAVE_IPVS_SYNCD_ATTRIBUTES_','_HAVE_PE_NAME_','_HAVE_IPVS_TUN_TYPE_','_HAVE_IPVS_TUN_CSUM_','_HAVE_IPVS_TUN_GRE_','LIBIPVS_USE_NL',
 '_USE_SYSTEMD_NOTIFY_','_HAVE_LIBNL3_','_WITH_SNMP_RFCV2_','_WITH_SNMP_RFCV3_','_HAVE_SO_MARK_','_HAVE_LINUX_NET_IF_H_COLLISION_', 'IPVS_DEST_ATTR_ADDR_FAMILY','_WITH_NFTABLES_','_HAVE_NFTNL_UDATA_','_WITH_CN_PROC_','_WITH_FIREWALL_','_WITH_SO_MARK_','_HAVE_SSL_SET_TLSEXT_HOST_NAME_','SO_MARK'}
src={}
for f in glob.glob('/work/ka-src/keepalived/*/*.c')+glob.glob('/work/ka-src/lib/*.c'):
    src[f]=open(f,errors='replace').read()
funcs={}
for f,t in src.items():
    for m in re.finditer(r'\n(?:static\s+)?(?:void|vector_t\s*\*|const vector_t\s*\*)\s*\n?(\w+)\s*\(([^)]*)\)\s*\n\{(.*?)\n\}',t,re.S):
        if 'install_' in m.group(3): funcs[m.group(1)]=m.group(3)
def prep(body):
    out=[];stack=[True]
    for ln in body.split('\n'):
        s=ln.strip()
        m=re.match(r'#\s*(ifdef|ifndef|if|elif|else|endif)\b\s*(.*)',s)
        if m:
            d,a=m.groups()
            if d=='ifdef': stack.append(stack[-1] and a.split()[0] in DEF)
            elif d=='ifndef': stack.append(stack[-1] and a.split()[0] not in DEF)
            elif d=='if':
                names=re.findall(r'defined\s*\(?\s*(\w+)',a)
                v=all(n in DEF for n in names) if '&&' in a or len(names)<=1 else any(n in DEF for n in names)
                if '!defined' in a.replace(' ',''): v= not v
                stack.append(stack[-1] and v)
            elif d=='elif': stack[-1]=False
            elif d=='else':
                parent=stack[-2] if len(stack)>1 else True
                stack[-1]= parent and not stack[-1]
            elif d=='endif': stack.pop()
            continue
        if stack[-1]: out.append(ln)
    return '\n'.join(out)
root=[];sub=[0]
def run(name,depth=0):
    body=prep(funcs[name])
    for m in re.finditer(r'(?<![\w])(?:if|while|for|switch)\s*\([^)]*\)|(install_keyword_root|install_keyword|install_sublevel_end|install_sublevel|install_root_end_handler|install_sublevel_end_handler)\s*\(([^;]*)\)\s*;|\b(\w+)\s*\(([^;]*)\)\s*;',body):
        if m.group(0).startswith(('if','while','for','switch')) and not m.group(1) and not m.group(3): continue
        if m.group(3)=='install_http_ssl_check_keyword':
            kwn=re.match(r'\s*"([^"]+)"',m.group(4)).group(1)
            saved=funcs[name]
            funcs['__hs']=funcs['install_http_ssl_check_keyword'].replace('install_keyword(keyword,','install_keyword("%s",'%kwn)
            run('__hs',depth+1); continue
        if m.group(1):
            k=m.group(1);a=m.group(2)
            if k=='install_keyword_root':
                n=re.match(r'\s*"([^"]+)"',a).group(1); root.append([n,[]])
            elif k=='install_keyword':
                mm=re.match(r'\s*"([^"]+)"',a)
                if not mm:
                    print("DYN",name,a,file=sys.stderr); continue
                n=mm.group(1)
                kw=root[-1]
                for i in range(sub[0]): kw=kw[1][-1]
                kw[1].append([n,[]])
            elif k=='install_sublevel': sub[0]+=1
            elif k=='install_sublevel_end': sub[0]-=1
        else:
            fn=m.group(3)
            if fn in funcs and fn!=name and fn not in ('install_keyword','install_keyword_root','install_sublevel','install_sublevel_end','install_root_end_handler','install_sublevel_end_handler'): run(fn,depth+1)
for top in ['init_global_keywords','init_vrrp_keywords','init_check_keywords','init_bfd_keywords','init_track_file_keywords']:
    pass
import json
order=sys.argv[1:]
for fn in order: run(fn)
def pr(nodes,d=0):
    for n,c in nodes:
        print('  '*d+n); pr(c,d+1)
pr(root)
