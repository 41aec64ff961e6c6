"""Dynamic network loading: the link transmission model (Yperman 2007) with en-route choice (Numba).

Each link keeps its cumulative vehicle counts at the upstream (``n_up``) and downstream
(``n_down``) end at every step. With a triangular fundamental diagram (free speed ``u``, wave
speed ``w``, capacity ``q``, jam density ``kj``), Newell's simplified kinematic-wave theory gives
the sending flow ``S = min(n_up(t + dt - L/u) - n_down(t), q dt)`` and the receiving flow
``R = min(n_down(t + dt - L/w) + kj L - n_up(t), q dt)``: queues form, and spill back into the
links upstream when ``R`` runs out. Nodes pass ``min`` of what the in-links send and the
out-links receive with a first-in-first-out node model: an in-link's whole sending flow is cut
by the most constrained out-link it feeds, as when the vehicle at the head of a queue waits for
its own out-link and holds up those behind it. Out-link supply is shared in proportion to demand,
and with ``NODE_REDISTRIBUTE`` supply that an in-link held up elsewhere leaves unused
goes to the other in-links (Tampere et al. 2011); ``NODE_FIFO`` (the default of
:func:`twin.traffic_dynamics`) shares each out-link's supply once, without redistribution, so
held-up in-links keep their share of it unused.

Vehicles carry their destination: each link holds a first-in-first-out list of packets (one per
step with inflow) with their destination shares. At every node, the share of each destination
leaves over the out-links by turning fractions that follow the shortest path under the current
(instantaneous) link travel times, recomputed every ``reroute_steps`` and smoothed (dynamic user
optimal route choice, en route, as UXsim's ``homogeneous_DUO``); smoothing keeps only links that
bring vehicles closer to their destination under the current times, so routes never loop. A
link's instantaneous time is its free-flow time plus its queue over the rate the queue has been
leaving at (last minute): a queue held up by spillback reads as slow as it is. Vehicles that
cannot enter an out-link choose again among their destination's preferred out-links (UXsim's
vehicles draw their next link again at every step they wait), so a destination's split moves
towards the out-links with room; a settled route (one preferred out-link) waits. Demand waits
in a point queue at its origin until the first link can take it. Events change capacities while
running: an incident scales a link's outflow capacity, a closure stops inflow (vehicles already
on the link still leave), a dark signal scales the outflow capacity of the links into its node.

References
----------
Yperman, I. (2007). The link transmission model for dynamic network loading. PhD thesis,
KU Leuven. Newell, G. F. (1993). A simplified theory of kinematic waves in highway traffic.
Transportation Research Part B 27(4). Tampere, C. M. J., Corthout, R., Cattrysse, D., Immers,
L. H. (2011). A generic class of first order node models for dynamic macroscopic simulation of
traffic flows. Transportation Research Part B 45(1), 289-309. Flotterod, G., Rohde, J. (2011).
Operational macroscopic modeling of complex urban road intersections. Transportation Research
Part B 45(6), 903-922.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from twin.solvers.traffic.paths import shortest_path_tree

#: Event kinds understood by :func:`run_ltm`.
CAPACITY = 0  # multiply a link's outflow capacity (incident, dark signal)
CLOSURE = 1  # no inflow into a link

#: Node models understood by :func:`run_ltm`.
NODE_FIFO = 0  # first-in-first-out, each out-link's supply shared once in proportion to demand
NODE_REDISTRIBUTE = 1  # first-in-first-out with supply redistribution (Tampere et al. 2011)


@njit(cache=True)
def _at(row, t):
    """Linear interpolation of a history row at fractional step ``t`` (row[0] before the start)."""
    if t <= 0.0:
        return row[0]
    k = int(t)
    f = t - k
    if f == 0.0:
        return row[k]
    return row[k] + f * (row[k + 1] - row[k])


@njit(cache=True)
def event_factors(t_s, ev_start, ev_end, ev_link, ev_kind, ev_factor, cap_factor, closed):
    """Capacity factor and closure flag of every link at time ``t_s`` from the event table."""
    cap_factor[:] = 1.0
    closed[:] = False
    for e in range(ev_start.shape[0]):
        if ev_start[e] <= t_s < ev_end[e]:
            a = ev_link[e]
            if ev_kind[e] == CLOSURE:
                closed[a] = True
            else:
                cap_factor[a] *= ev_factor[e]


@njit(cache=True)
def _composition(a, amount, pk_amt, pk_comp, head, size, n_pk, out):
    """Destination shares of the next ``amount`` vehicles to leave link ``a`` (written to out)."""
    out[:] = 0.0
    left = amount
    k = head[a]
    got = 0.0
    for _ in range(size[a]):
        take = min(left, pk_amt[a, k])
        if take > 0.0:
            out += take * pk_comp[a, k]
            got += take
            left -= take
        if left <= 0.0:
            break
        k = (k + 1) % n_pk
    if got > 0.0:
        out /= got
    elif size[a] > 0:
        out[:] = pk_comp[a, head[a]]


@njit(cache=True)
def _pop(a, amount, pk_amt, head, size, n_pk):
    """Remove ``amount`` vehicles from the front of link ``a``'s packets."""
    left = amount
    while left > 0.0 and size[a] > 0:
        k = head[a]
        if pk_amt[a, k] > left * (1.0 + 1e-12):
            pk_amt[a, k] -= left
            return
        left -= pk_amt[a, k]
        pk_amt[a, k] = 0.0
        head[a] = (k + 1) % n_pk
        size[a] -= 1


@njit(cache=True)
def _push(a, amount, counts, pk_amt, pk_comp, head, size, n_pk):
    """Append a packet of ``amount`` vehicles with destination counts ``counts`` to link ``a``."""
    if amount <= 0.0:
        return
    if size[a] == n_pk:  # full: merge into the newest packet
        k = (head[a] + size[a] - 1) % n_pk
        total = pk_amt[a, k] + amount
        pk_comp[a, k] = (pk_comp[a, k] * pk_amt[a, k] + counts) / total
        pk_amt[a, k] = total
        return
    k = (head[a] + size[a]) % n_pk
    pk_amt[a, k] = amount
    pk_comp[a, k] = counts / amount
    size[a] += 1


@njit(cache=True)
def _link_flows(t, n_up, n_down, ff_steps, w_steps, cap_step, storage, cap_factor, closed, send, recv):
    """Sending and receiving flow (vehicles this step) of every link at step ``t``."""
    for a in range(send.shape[0]):
        s = _at(n_up[a], t + 1.0 - ff_steps[a]) - n_down[a, t]
        send[a] = max(0.0, min(s, cap_step[a] * cap_factor[a]))
        if closed[a]:
            recv[a] = 0.0
        else:
            r = _at(n_down[a], t + 1.0 - w_steps[a]) + storage[a] - n_up[a, t]
            recv[a] = max(0.0, min(r, cap_step[a]))


#: Window (s) over which a queue's discharge rate is measured for its travel time.
RATE_WINDOW_S = 60.0


@njit(cache=True)
def link_travel_times(t, n_up, n_down, ff_steps, cap_step, cap_factor, closed, dt, out):
    """Instantaneous travel time (s): free-flow time plus the queue at the exit over the rate it leaves at.

    The queue (vehicles that would have left by now at free flow) drains at the rate the link's
    exit has passed vehicles over the last ``RATE_WINDOW_S`` seconds, at most the capacity and at
    least 1 % of it: a queue held up by spillback or by a full out-link reads as slow as it is,
    not as if it left at capacity (UXsim likewise measures how fast the vehicles on a link move,
    length / mean speed, with a floor of 1 % of the free speed).
    """
    win = max(1, int(round(RATE_WINDOW_S / dt)))
    t0 = max(0, t - win)
    for a in range(out.shape[0]):
        if closed[a]:
            out[a] = np.inf
            continue
        queue = max(0.0, _at(n_up[a], t - ff_steps[a]) - n_down[a, t])
        c = cap_step[a] * cap_factor[a]
        if c <= 0.0:
            out[a] = ff_steps[a] * dt + (np.inf if queue > 0.0 else 0.0)
            continue
        rate = (n_down[a, t] - n_down[a, t0]) / (t - t0) if t > t0 else c
        out[a] = ff_steps[a] * dt + queue / min(max(rate, 0.01 * c), c) * dt


#: Relative tolerance under which two routes count as equally short (their out-links share the flow).
TIE_RTOL = 1e-9


@njit(cache=True)
def _on_best_route(a, v, d, tt, dist, to_node, zone_node, through, shortest):
    """Whether out-link ``a`` of node ``v`` starts a shortest route to destination ``d`` (within
    TIE_RTOL) and brings vehicles strictly closer to it: a zero-time link between two equally
    distant nodes is not a tie, or flows could go round it both ways."""
    w_ = to_node[a]
    usable = (through[w_] or w_ == zone_node[d]) and dist[w_] < dist[v]
    return usable and tt[a] + dist[w_] <= shortest * (1.0 + TIE_RTOL) + 1e-9


@njit(cache=True)
def reroute(tt, zone_node, in_indptr, in_links, from_node, to_node, out_indptr, out_links, through,
            weight, beta):
    """Move turning fractions ``beta[d, a]`` a share ``weight`` towards the current shortest paths.

    Where several out-links of a node start equally short routes (TNTP's whole-minute free-flow
    times tie often), the share moved goes to them in equal parts, so results do not depend on
    the order of the links in the input.
    """
    n = through.shape[0]
    dist = np.empty(n)
    pred = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    heap = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    for d in range(zone_node.shape[0]):
        shortest_path_tree(zone_node[d], tt, in_indptr, in_links, from_node, through, dist, pred, order, heap,
                           pos)
        for v in range(n):
            if v == zone_node[d] or not dist[v] < np.inf:
                continue
            shortest = np.inf
            first = -1  # the first shortest out-link: the route when no tie brings vehicles closer
            for k in range(out_indptr[v], out_indptr[v + 1]):
                a = out_links[k]
                c = tt[a] + dist[to_node[a]]
                if c < shortest and (through[to_node[a]] or to_node[a] == zone_node[d]):
                    shortest = c
                    first = a
            if first < 0:
                continue
            n_best = 0
            for k in range(out_indptr[v], out_indptr[v + 1]):
                if _on_best_route(out_links[k], v, d, tt, dist, to_node, zone_node, through, shortest):
                    n_best += 1
            # smooth towards the best links, keeping only links that bring vehicles closer to the
            # destination under the current times: routes stay loop-free (a mix of old and new
            # trees could send vehicles round in circles and, with spillback, lock the network up)
            kept = 0.0
            for k in range(out_indptr[v], out_indptr[v + 1]):
                a = out_links[k]
                w_ = to_node[a]
                closer = dist[w_] < dist[v] and (through[w_] or w_ == zone_node[d])
                beta[d, a] = (1.0 - weight) * beta[d, a] if closer else 0.0
                kept += beta[d, a]
            if n_best == 0:  # the shortest route starts on a zero-time link: take the first
                beta[d, first] += 1.0 - kept
                continue
            for k in range(out_indptr[v], out_indptr[v + 1]):
                a = out_links[k]
                if _on_best_route(a, v, d, tt, dist, to_node, zone_node, through, shortest):
                    beta[d, a] += (1.0 - kept) / n_best


@njit(cache=True)
def _redistribute(v, total_in, n_out, recv, out_indptr, out_links, sij, phi, active, rest):
    """First-in-first-out node model with supply redistribution (Tampere et al. 2011).

    The incremental algorithm of the generic node model with priorities in proportion to the
    turning demand: find the out-link whose remaining supply over the demand of the in-links
    not yet fixed is smallest; if even that ratio is >= 1 every remaining in-link passes whole;
    otherwise the in-links feeding it pass that share of their whole sending flow (FIFO), are
    fixed, and what they send uses up supply downstream. ``phi`` holds on entry the most each
    in-link can pass (1; less where vehicles at its head wait to choose again; 0 for in-links
    held by a missing route); an in-link whose own limit is tighter than every out-link's ratio
    is fixed at it first, so the room it leaves goes to the others. On return ``phi`` holds each
    in-link's passing share.
    """
    for jj in range(n_out):
        rest[jj] = recv[out_links[out_indptr[v] + jj]]
    for ii in range(total_in):
        active[ii] = phi[ii] > 0.0
    while True:
        best = np.inf
        jstar = -1
        for jj in range(n_out):
            d = 0.0
            for ii in range(total_in):
                if active[ii]:
                    d += sij[ii, jj]
            if d > 0.0:
                r = max(rest[jj], 0.0) / d
                if r < best:
                    best = r
                    jstar = jj
        istar = -1
        for ii in range(total_in):
            if active[ii] and phi[ii] < min(best, 1.0) and (istar < 0 or phi[ii] < phi[istar]):
                istar = ii
        if istar >= 0:  # an in-link's own limit binds first: fix it there
            active[istar] = False
            for jj in range(n_out):
                rest[jj] -= phi[istar] * sij[istar, jj]
            continue
        if jstar < 0 or best >= 1.0:
            return
        for ii in range(total_in):
            if active[ii] and sij[ii, jstar] > 0.0:
                phi[ii] = best
                active[ii] = False
                for jj in range(n_out):
                    rest[jj] -= best * sij[ii, jj]


@njit(cache=True)
def _node(v, o, send, recv, beta, zone_node, in_indptr, in_links, out_indptr, out_links, packets, oq,
          comp, sij, dem, phi, node_model, active, rest, split, sent):
    """First-in-first-out node model at node ``v`` (``o`` >= 0: origin zone sending from here).

    Fills ``comp`` (destination shares per in-link), ``sij`` (turning demand) and ``phi`` (the
    share of each in-link's sending flow that passes); returns the number of in-links used and
    whether the turning fractions were re-chosen (then in ``split[d, jj]``, else ``beta``).

    Re-choice at the node, as in UXsim: a vehicle that cannot enter the out-link it chose waits
    and chooses again at the next step from its destination's preferences, so of the vehicles
    bound for destination ``d`` a share ``beta[d, j] * a_j / sum_k beta[d, k] * a_k`` ends up on
    out-link ``j``, where ``a_j = min(1, R_j / demand_j)`` is the share of the demand the out-link
    can take. A vehicle whose choice finds no room waits at the head of its link for the step and
    holds up those behind it (FIFO), so an in-link passes at most the share of its vehicles whose
    choice finds room, ``sum_d c_d sum_j beta[d, j] a_j`` over destinations with a choice (one
    with a single preferred out-link, a settled route, counts as finding room: its vehicles wait
    for that out-link as the node model says). With settled routes nothing changes.
    """
    pk_amt, pk_comp, head, size, n_pk = packets
    n_in = in_indptr[v + 1] - in_indptr[v]
    n_out = out_indptr[v + 1] - out_indptr[v]
    total_in = n_in + (1 if o >= 0 else 0)
    z = comp.shape[1]
    dem[:n_out] = 0.0
    for ii in range(total_in):
        if ii < n_in:
            a = in_links[in_indptr[v] + ii]
            s = send[a]
            _composition(a, s, pk_amt, pk_comp, head, size, n_pk, comp[ii])
        else:
            s = oq[o].sum()
            comp[ii] = oq[o] / s if s > 0.0 else 0.0 * oq[o]
        sent[ii] = s
        for d in range(z):
            c = comp[ii, d]
            if c <= 0.0 or zone_node[d] == v:
                continue
            for jj in range(n_out):
                dem[jj] += s * c * beta[d, out_links[out_indptr[v] + jj]]
    rechoose = False
    for jj in range(n_out):
        j = out_links[out_indptr[v] + jj]
        rest[jj] = min(1.0, recv[j] / dem[jj]) if dem[jj] > 0.0 else 1.0
        rechoose = rechoose or rest[jj] < 1.0
    if rechoose:
        for d in range(z):
            pref = 0.0
            took = 0.0
            for jj in range(n_out):
                b = beta[d, out_links[out_indptr[v] + jj]]
                split[d, jj] = b * rest[jj]
                pref += b
                took += split[d, jj]
            for jj in range(n_out):
                if took > 0.0:
                    split[d, jj] *= pref / took
                else:  # every preferred out-link is full: wait for them
                    split[d, jj] = beta[d, out_links[out_indptr[v] + jj]]
    dem[:n_out] = 0.0
    for ii in range(total_in):
        s = sent[ii]
        blocked = False
        pref = 0.0
        took = 0.0
        for jj in range(n_out):
            sij[ii, jj] = 0.0
        for d in range(z):
            c = comp[ii, d]
            if c <= 0.0 or zone_node[d] == v:
                continue
            routed = 0.0
            options = 0
            found = 0.0
            for jj in range(n_out):
                j = out_links[out_indptr[v] + jj]
                b = split[d, jj] if rechoose else beta[d, j]
                sij[ii, jj] += s * c * b
                routed += b
                if beta[d, j] > 0.0:
                    options += 1
                    found += beta[d, j] * rest[jj]
            # vehicles with a choice that found no room wait for the step; those with a settled
            # route wait for their out-link as the node model says (FIFO)
            pref += c * routed
            took += c * (found if rechoose and options > 1 else routed)
            if routed < 0.5:
                blocked = True  # no route from here yet: the vehicle waits and holds up the link (FIFO)
        # the most the in-link passes: all, or the share of its vehicles whose choice finds room
        phi[ii] = 0.0 if blocked or not s > 0.0 else (min(1.0, took / pref) if pref > 0.0 else 1.0)
        for jj in range(n_out):
            dem[jj] += sij[ii, jj]
    if node_model == NODE_REDISTRIBUTE:
        _redistribute(v, total_in, n_out, recv, out_indptr, out_links, sij, phi, active, rest)
        return total_in, rechoose
    for ii in range(total_in):
        for jj in range(n_out):
            if sij[ii, jj] > 0.0:
                j = out_links[out_indptr[v] + jj]
                phi[ii] = min(phi[ii], recv[j] / dem[jj])
    return total_in, rechoose


@njit(cache=True)
def _apply(v, o, t, total_in, send, beta, zone_node, in_indptr, in_links, out_indptr, out_links, packets, oq,
           comp, phi, counts, n_up, n_down, arrived, rechoose, split):
    """Move the flows the node model allowed at node ``v`` and record arrivals."""
    pk_amt, pk_comp, head, size, n_pk = packets
    n_in = in_indptr[v + 1] - in_indptr[v]
    n_out = out_indptr[v + 1] - out_indptr[v]
    for jj in range(n_out):
        j = out_links[out_indptr[v] + jj]
        counts[:] = 0.0
        amount = 0.0
        for ii in range(total_in):
            if phi[ii] <= 0.0:
                continue
            s = send[in_links[in_indptr[v] + ii]] if ii < n_in else oq[o].sum()
            for d in range(counts.shape[0]):
                if zone_node[d] != v:
                    q = phi[ii] * s * comp[ii, d] * (split[d, jj] if rechoose else beta[d, j])
                    counts[d] += q
                    amount += q
        if amount > 0.0:
            _push(j, amount, counts, pk_amt, pk_comp, head, size, n_pk)
            n_up[j, t + 1] += amount
    for ii in range(total_in):
        if phi[ii] <= 0.0:
            continue
        if ii < n_in:
            a = in_links[in_indptr[v] + ii]
            g = phi[ii] * send[a]
            for d in range(comp.shape[1]):
                if zone_node[d] == v:
                    arrived[d] += g * comp[ii, d]
            _pop(a, g, pk_amt, head, size, n_pk)
            n_down[a, t + 1] += g
        else:
            s = oq[o].sum()
            for d in range(comp.shape[1]):
                oq[o, d] = max(0.0, oq[o, d] - phi[ii] * s * comp[ii, d])


@njit(cache=True)
def run_ltm(n_steps, dt, demand, period_steps, origins, zone_node, link, star, events, reroute_steps,
            reroute_weight, n_packets, n_up, n_down, waiting, arrived_total, node_model=NODE_REDISTRIBUTE):
    """Run the link transmission model for ``n_steps`` steps of ``dt`` seconds.

    ``demand[p, o, d]`` (veh/h) holds for steps ``[p * period_steps, (p + 1) * period_steps)``;
    ``link = (ff_steps, w_steps, cap_step, storage)``; ``star = (out_indptr, out_links, in_indptr,
    in_links, from_node, to_node, through)``; ``events = (start_s, end_s, link, kind, factor)``;
    ``node_model``: ``NODE_REDISTRIBUTE`` or ``NODE_FIFO``.
    Writes the cumulative counts ``n_up``/``n_down`` (links x steps + 1), vehicles waiting at
    origins and cumulative arrivals per step. Returns the number of route updates.
    """
    ff_steps, w_steps, cap_step, storage = link
    out_indptr, out_links, in_indptr, in_links, from_node, to_node, through = star
    ev_start, ev_end, ev_link, ev_kind, ev_factor = events
    m = ff_steps.shape[0]
    n = through.shape[0]
    z = zone_node.shape[0]
    origin_at = np.full(n, -1, dtype=np.int64)
    for o in origins:
        origin_at[zone_node[o]] = o
    pk_amt = np.zeros((m, n_packets))
    pk_comp = np.zeros((m, n_packets, z))
    head = np.zeros(m, dtype=np.int64)
    size = np.zeros(m, dtype=np.int64)
    packets = (pk_amt, pk_comp, head, size, n_packets)
    oq = np.zeros((z, z))
    beta = np.zeros((z, m))
    cap_factor = np.ones(m)
    closed = np.zeros(m, dtype=np.bool_)
    send, recv, tt = np.empty(m), np.empty(m), np.empty(m)
    max_in = 1
    max_out = 1
    for v in range(n):
        max_in = max(max_in, in_indptr[v + 1] - in_indptr[v] + 1)
        max_out = max(max_out, out_indptr[v + 1] - out_indptr[v])
    comp, sij = np.zeros((max_in, z)), np.zeros((max_in, max_out))
    dem, phi, counts, arrived = np.zeros(max_out), np.zeros(max_in), np.zeros(z), np.zeros(z)
    active, rest = np.zeros(max_in, dtype=np.bool_), np.zeros(max_out)
    split, sent = np.zeros((z, max_out)), np.zeros(max_in)
    updates = 0
    was_closed = closed.copy()
    for t in range(n_steps):
        event_factors(t * dt, ev_start, ev_end, ev_link, ev_kind, ev_factor, cap_factor, closed)
        changed = False
        for a in range(m):
            if closed[a] != was_closed[a]:
                changed = True
        was_closed[:] = closed
        if t == 0 or changed or (reroute_steps > 0 and t % reroute_steps == 0):
            link_travel_times(t, n_up, n_down, ff_steps, cap_step, cap_factor, closed, dt, tt)
            reroute(tt, zone_node, in_indptr, in_links, from_node, to_node, out_indptr, out_links, through,
                    1.0 if t == 0 or changed else reroute_weight, beta)
            updates += 1
        p = t // period_steps
        if p < demand.shape[0]:
            for o in origins:
                oq[o] += demand[p, o] * (dt / 3600.0)
        _link_flows(t, n_up, n_down, ff_steps, w_steps, cap_step, storage, cap_factor, closed, send, recv)
        n_up[:, t + 1] = n_up[:, t]
        n_down[:, t + 1] = n_down[:, t]
        for v in range(n):
            o = origin_at[v]
            if in_indptr[v + 1] == in_indptr[v] and o < 0:
                continue
            total_in, rechoose = _node(v, o, send, recv, beta, zone_node, in_indptr, in_links, out_indptr,
                                       out_links, packets, oq, comp, sij, dem, phi, node_model, active, rest,
                                       split, sent)
            _apply(v, o, t, total_in, send, beta, zone_node, in_indptr, in_links, out_indptr, out_links, packets,
                   oq, comp, phi, counts, n_up, n_down, arrived, rechoose, split)
        waiting[t + 1] = oq.sum()
        arrived_total[t + 1] = arrived.sum()
    return updates
