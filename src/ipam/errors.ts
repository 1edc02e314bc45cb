import { WeftError, forbidden, invalid, notFound, systemError, unavailable, type ErrorKind } from '../common/errors.js';

// Docker 20.10's IPAM error texts and kinds, word for word (typos included), with where they
// come from. libnetwork's types.*Errorf map to HTTP statuses as:
//   BadRequest -> 400, Forbidden -> 403, NotFound -> 404, NoService -> 503, Internal -> 500,
//   and a plain fmt.Errorf -> 500.
// Where 20.10 answers 500 for the client's own mistake (a malformed subnet or ip-range, a gateway
// its subnet cannot give), weft keeps the text and answers 400, as Docker 25+ does (issue 11).

/** A wrapping error takes its cause's kind when the cause is the client's: no room in the
 * user's subnet (an Unavailable pool) is the client's too. */
const causeKind = (cause: WeftError): ErrorKind => (cause.status < 500 ? cause.kind : cause.kind === 'Unavailable' ? 'InvalidParameter' : 'System');

export const IpamErrors = {
  // libnetwork ipamapi/contract.go (vendored in 20.10)
  poolOverlap: () => forbidden('Pool overlaps with other one on this address space'),
  noAvailableIPs: () => unavailable('No available addresses on this pool'),
  ipAlreadyAllocated: () => forbidden('Address already in use'),
  ipOutOfRange: () => invalid('Requested address is out of range'),

  // libnetwork ipam/allocator.go RequestAddress / ReleasePool
  unknownPool: (poolId: string) => notFound(`cannot find address pool for poolID:${poolId}`),
  poolsHeld: (netId: string) => systemError(`IPAM pools are already allocated for network ${netId}`),
  noState: (netId: string) => systemError(`no IPAM state for network ${netId}`),
  unknownAddressSpace: (space: string) => invalid(`cannot find address space ${space} (not found)`),

  // libnetwork ipam/allocator.go getPredefinedPool
  noDefaultPool: (v: 4 | 6) =>
    notFound(
      `could not find an available, non-overlapping IPv${v} address pool among the defaults to assign to the network`,
    ),

  // libnetwork ipams/null/null.go
  nullPoolRequest: () => invalid('null ipam driver does not handle specific address pool requests'),

  // libnetwork ipam/allocator.go RequestPool (wrapping ipamapi.ErrInvalidSubPool)
  invalidSubPool: (pool: string, subPool: string) =>
    invalid(
      `failed to parse pool request for address space "LocalDefault" pool "${pool}" subpool "${subPool}": Invalid Address SubPool`,
    ),

  // daemon/network.go getIpamConfig: fmt.Errorf("Invalid subnet %s : %v") around Go's ParseCIDR error
  invalidSubnet: (subnet: string) => invalid(`Invalid subnet ${subnet} : invalid CIDR address: ${subnet}`),

  // libnetwork network.go IpamConf.Validate
  invalidGateway: (gw: string) => invalid(`invalid gateway address ${gw} in Ipam configuration`),
  // libnetwork network.go ipamAllocateVersion
  gatewayAlloc: (gw: string, cause: WeftError) => new WeftError(causeKind(cause), `failed to allocate gateway (${gw}): ${cause.message}`),
  auxUnparsable: (key: string, value: string, netName: string) =>
    invalid(`non parsable secondary ip address (${key}:${value}) passed for network ${netName}`),
  auxOutsidePool: (key: string, value: string, pool: string) =>
    forbidden(`auxilairy address: (${key}:${value}) must belong to the master pool: ${pool}`),
  auxAlloc: (key: string, value: string, cause: WeftError) =>
    new WeftError(causeKind(cause), `failed to allocate secondary ip address (${key}:${value}): ${cause.message}`),

  // runconfig/errors.go (validationError -> 400)
  staticIpNeedsUserSubnet: () =>
    invalid('user specified IP address is supported only when connecting to networks with user configured subnets'),
  staticIpNeedsUserNetwork: () => invalid('user specified IP address is supported on user defined networks only'),

  // libnetwork endpoint.go assignAddressVersion
  addressNotInSubnets: (addr: string) =>
    invalid(`Invalid address ${addr}: It does not belong to any of this network's subnets`),
  noAddressesOnNetwork: (v: 4 | 6, name: string, id: string) =>
    systemError(`no available IPv${v} addresses on this network's address pools: ${name} (${id})`),

  // Where 20.10 computes garbage (an ip-range outside, bigger than, or of another family than its
  // subnet), weft refuses with moby >= 25's api/types/network/ipam.go ValidateIPAM texts instead.
  invalidNetworkConfig: (lines: string[]) =>
    invalid(`invalid network config:\n${lines.length === 1 ? lines[0] : lines.map((l) => `* ${l}`).join('\n')}`),
};

