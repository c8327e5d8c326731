import { BlockList, isIP } from 'node:net';

/** Addresses and CIDR ranges (IPv4 or IPv6). An empty list allows everyone. */
export function createIpAllowlist(entries: readonly string[]): (ip: string | undefined) => boolean {
  if (entries.length === 0) return () => true;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number.parseInt(prefix, 10), family);
  }
  return (ip) => {
    if (!ip || isIP(ip) === 0) return false;
    return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  };
}
