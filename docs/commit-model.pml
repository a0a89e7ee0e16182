/*
 * Sealift commit protocol (G5, single instance): a Promela model, checked with spin by
 * bundles/org.sealift.protocol/src/test/java/org/sealift/protocol/verification/CommitModelTest.java.
 *
 * What it models (PROTOCOL.md, "Where the trusted state lives" and "Final phase and commit"):
 *  - one VM with protected processes, a source hypervisor (host 0) and NM destination hypervisors
 *    (migration m goes to host m + 1); with NM = 2 dom0 runs two migrations of the same VM at once;
 *  - each hypervisor keeps its decisions in sealed state bound to a monotonic counter (the TPM NV
 *    counter); dom0 stores the sealed versions, so at every restart dom0 chooses which version the
 *    hypervisor reads: the newest, an older one (rollback) or none (deletion);
 *  - a decision is: seal the new state (tag = counter + 1), increment the counter, and only then act
 *    (send a token, resume); a host crash can strike between any two of these steps;
 *  - dom0 and the network: every token a hypervisor ever emitted can be delivered any number of times,
 *    in any order, at any time, or never (drop, delay, duplicate, reorder, replay). Tokens are AK
 *    signatures bound to the migration id, so dom0 cannot forge or re-target them. dom0 can pause and
 *    resume domains, start migrations (create at the destination follows the handshake) and destroy
 *    the source's domain at any time; a host can crash (and restart) or be lost for good;
 *  - deadlines are not clocks: a deadline may fire at any moment its guard allows (dom0 controls delay);
 *  - the per-VM migration lock in the source's sealed state, and the fence (the operator's override
 *    after the loss of a host for good, bound to one migration).
 *
 * Properties (assertions wherever a copy starts to run):
 *  (a) never two running copies, and no fork of the VM's history through crashes: no host resumes a
 *      copy while another host that ran a newer or concurrent copy can still run it;
 *  (b) a destination resumes only if the source issued RELEASE for that migration, or under a fence;
 *      the source resumes after RELEASE only with the destination's ABORT token or a fence;
 *  (d) a destination that resumes through RELEASE never runs a state older than one the source ran
 *      (a resume at the source after the MANIFEST means that migration can never be released);
 *  (c) liveness (spin -DLIVENESS): once dom0 stops misbehaving (a finite budget of crashes, rollbacks
 *      that pass the check, drops, replays and pauses) and the network carries tokens, eventually
 *      exactly one copy runs and keeps running: <>[] one_running, checked with weak fairness.
 *
 * Sealed-state rule modelled here: a version passes if its tag is the counter value or one above it
 * (the write landed, the increment did not). Anything older, or no state, leaves the host "in doubt":
 * it refuses resume, RELEASE and ABORT for this VM until a later restart reads a version that passes.
 * After a restart the hypervisor commits the state it accepted twice (seal, increment, seal,
 * increment) before it decides or acts on anything: other versions that pass may exist (an unfinished
 * decision, or a re-seal from an earlier interrupted restart), and none of them may pass again once
 * the hypervisor has acted on the state it chose; until then, choosing any of them is as good as having
 * chosen it at the restart. Incrementing first would leave no version that passes if the host crashed
 * right after; a single commit would leave the other versions passing at the new counter value.
 * Here a version is tagged with the counter value it is committed at (after the increment);
 * PROTOCOL.md and hypervisor-agent's SealedState tag it with the value before the increment, hence
 * their "the counter value or one below": the same rule. Accepting one version more (one committed
 * decision older) lets dom0 undo the last decision: MUT_ACCEPT_ONE_BELOW finds the fork.
 *
 * Fence: the operator issues at most one fence per VM and lost host, and after the loss of the source
 * only for the newest migration the attestation logs show: a destination still READY for an older
 * migration (its source's ABORT dropped) would otherwise run a stale copy next to the newer one
 * (MUT_FENCE_ANY_MIGRATION). Note that the destination's READY deadline may fire before a fence
 * arrives; then the fence finds nothing to resume and the VM is lost with its source.
 *
 * Mutations (spin -DMUT_...), each breaking one rule; the checker must find a violation for each:
 *  MUT_SRC_RESUME_AFTER_RELEASE   source resumes after RELEASE without ABORT token or fence
 *  MUT_DST_RESUME_ON_READY        destination resumes once it is READY (no RELEASE)
 *  MUT_NO_LOCK                    no per-VM migration lock (start and RELEASE ignore it)
 *  MUT_ACCEPT_ONE_BELOW           the version before the newest committed one passes (one-step rollback)
 *  MUT_NO_RECOMMIT                no double commit after a restart
 *  MUT_ACT_BEFORE_COMMIT          act (send a token, resume) before the counter increment
 *  MUT_DST_ABORT_AFTER_RESUME     destination may issue ABORT after it resumed
 *  MUT_TRUST_DELETED_STATE        deleted sealed state is read as "fresh host, no migration"
 *  MUT_RESUME_KEEPS_MANIFEST      resume after the MANIFEST does not record ABORT first
 *  MUT_FENCE_ANY_MIGRATION        operator fences any migration, not only the newest one
 *  MUT_NO_RETRY                   (liveness) the source never re-serves RELEASE and the destination
 *                                 never answers a late RELEASE with its ABORT token
 *
 * Bounds: -DNM=1 or 2; -DCRASHES=n bounds host crashes and losses (unbounded without it);
 * -DLIVENESS -DBUDGET=n bounds dom0's misbehaviour before it behaves.
 */

#ifndef NM
#define NM 2
#endif
#define NH (NM + 1)
#define SRC 0
#define DST(m) ((m) + 1)
#define K 3   /* sealed versions kept for dom0's choice; see recover() */

#ifdef LIVENESS
#ifndef BUDGET
#define BUDGET 2
#endif
#endif

/* ---- mutation switches (all 0 in the real protocol) ---- */
#ifdef MUT_SRC_RESUME_AFTER_RELEASE
#define M_SRC_RESUME_AFTER_RELEASE 1
#else
#define M_SRC_RESUME_AFTER_RELEASE 0
#endif
#ifdef MUT_DST_RESUME_ON_READY
#define M_DST_RESUME_ON_READY 1
#else
#define M_DST_RESUME_ON_READY 0
#endif
#ifdef MUT_NO_LOCK
#define M_NO_LOCK 1
#else
#define M_NO_LOCK 0
#endif
#ifdef MUT_ACCEPT_ONE_BELOW
#define M_ACCEPT_ONE_BELOW 1
#else
#define M_ACCEPT_ONE_BELOW 0
#endif
#ifdef MUT_NO_RECOMMIT
#define M_NO_RECOMMIT 1
#else
#define M_NO_RECOMMIT 0
#endif
#ifdef MUT_ACT_BEFORE_COMMIT
#define M_ACT_BEFORE_COMMIT 1
#else
#define M_ACT_BEFORE_COMMIT 0
#endif
#ifdef MUT_DST_ABORT_AFTER_RESUME
#define M_DST_ABORT_AFTER_RESUME 1
#else
#define M_DST_ABORT_AFTER_RESUME 0
#endif
#ifdef MUT_TRUST_DELETED_STATE
#define M_TRUST_DELETED_STATE 1
#else
#define M_TRUST_DELETED_STATE 0
#endif
#ifdef MUT_RESUME_KEEPS_MANIFEST
#define M_RESUME_KEEPS_MANIFEST 1
#else
#define M_RESUME_KEEPS_MANIFEST 0
#endif
#ifdef MUT_FENCE_ANY_MIGRATION
#define M_FENCE_ANY_MIGRATION 1
#else
#define M_FENCE_ANY_MIGRATION 0
#endif

#ifdef MUT_NO_RETRY
#define M_NO_RETRY 1
#else
#define M_NO_RETRY 0
#endif

#define ANY_MUTATION (M_SRC_RESUME_AFTER_RELEASE || M_DST_RESUME_ON_READY || M_NO_LOCK || M_ACCEPT_ONE_BELOW || \
  M_NO_RECOMMIT || M_ACT_BEFORE_COMMIT || M_DST_ABORT_AFTER_RESUME || M_TRUST_DELETED_STATE || \
  M_RESUME_KEEPS_MANIFEST || M_FENCE_ANY_MIGRATION || M_NO_RETRY)

/* ---- sealed state versions: tag relative to the NV counter (its absolute value never matters) ---- */
#define T_OLD 0   /* counter - 2 or older, or no version */
#define T_M1  1   /* counter - 1 */
#define T_Z   2   /* counter */
#define T_P1  3   /* counter + 1: sealed, counter not yet incremented */

/* ---- source: per-migration phase, packed with the lock into mem[SRC] ---- */
#define S_IDLE     0
#define S_LOCKED   1   /* lock taken, pre-copy; the VM may run */
#define S_SEALED   2   /* MANIFEST sealed: the VM is frozen */
#define S_RELEASED 3   /* RELEASE issued: keys locked, the VM stays paused */
#define S_ABORTED  4   /* aborted (own decision, the destination's ABORT token, or a fence) */
#define S_DONE     5   /* DONE received: the source dropped its copy */
#define LOCK (mem[SRC] & 3)                       /* 0 = free, m + 1 = held by migration m */
#define PH(m) ((mem[SRC] >> (2 + 3 * (m))) & 7)
#define SET_PH(m, p) mem[SRC] = (mem[SRC] & (255 - (7 << (2 + 3 * (m))))) | ((p) << (2 + 3 * (m)))
#define SET_LOCK(l) mem[SRC] = (mem[SRC] & 252) | (l)

/* ---- destination of migration m: its phase is mem[DST(m)] ---- */
#define D_NONE      0
#define D_READY     1   /* verified copy held, READY issued */
#define D_RESUMING  2   /* recorded before resuming (RELEASE or fence) */
#define D_ABORTED   3   /* ABORT issued, copy zeroized: never resumes */
#define D_CANCELLED 4   /* the source's ABORT received, copy zeroized */

/* ---- where a hypervisor is in its own sequence of steps (volatile) ---- */
#define P_IDLE     0
#define P_INC      1   /* decision sealed, counter not yet incremented */
#define P_ACT      2   /* decision committed, not yet acted upon */
#define P_DOWN     3   /* host crashed, waiting to restart */
#define P_LOST     4   /* host gone for good */
#define P_RB_W1    5   /* after a restart, commit the accepted state twice: first seal ... */
#define P_RB_I1    6   /* ... first increment ... */
#define P_RB_W2    7   /* ... second seal ... */
#define P_RB_FIN   8   /* ... and the last increment of a recovery */

/* ---- what a committed decision does ---- */
#define A_NONE         0
#define A_HELLO        1   /* source: open the session of m */
#define A_MANIFEST     2   /* source: send MANIFEST */
#define A_RELEASE      3   /* source: send RELEASE */
#define A_ABORT_RESUME 4   /* source: send ABORT_BY_SOURCE, resume */
#define A_RESUME       5   /* source: resume (the destination's ABORT token or a fence) */
#define A_READY        6   /* destination: send READY */
#define A_RESUME_DONE  7   /* destination: resume, send DONE */
#define A_ABORT_D      8   /* destination: send ABORT_BY_DESTINATION */
#define A_FENCE_RESUME 9   /* destination: resume under a fence */

/* ---- tokens: one bit each per migration; a bit, once set, stays (dom0 keeps a copy) ---- */
#define TD_HELLO    1    /* to the destination of m */
#define TD_MANIFEST 2
#define TD_RELEASE  4
#define TD_ABORT_S  8
#define TD_FENCE    16
#define TS_READY    1    /* to the source, about m */
#define TS_ABORT_D  2
#define TS_DONE     4
#define TS_FENCE    8

byte mem[NH];          /* the decisions each hypervisor holds (content of its sealed state) */
byte dtag[NH * K];     /* sealed versions in dom0's storage, newest first: relative tag ... */
byte dval[NH * K];     /* ... and content */
byte pc[NH];
byte act[NH];
byte src_actm;         /* the migration the source's pending action is about */
bool indoubt[NH];
bool running[NH];
bool src_destroyed;    /* dom0 destroyed the source's domain and its copy */
bool s_sess[NM];       /* the source's end of the session of m is alive (keys in memory) */
bool d_recv[NM];       /* the destination's end of the session of m is alive */
byte to_d[NM];         /* tokens that exist, towards the destination of m (the HELLO bit: pending) */
byte to_s[NM];         /* tokens that exist, towards the source, about m */
byte newest = 255;     /* the newest migration started: what the operator finds in the logs */
#ifdef CRASHES
byte crashes = CRASHES;  /* host crashes and losses left in this run */
#define MAY_CRASH (crashes > 0)
#define CRASH_SPENT crashes--
#else
#define MAY_CRASH true
#define CRASH_SPENT skip
#endif
#ifdef LIVENESS
byte fwd_d[NM];        /* emitted tokens the network has carried since their last emission (or dropped) */
byte fwd_s[NM];
byte budget = BUDGET;  /* misbehaviour dom0 has left; afterwards it behaves */
#define MISBEHAVE (budget > 0)
#define SPEND budget--
#else
#define MISBEHAVE true
#define SPEND skip
#endif

/* ghosts, read only by the assertions (tokens double as ghosts: RELEASE exists <=> the source issued it) */
bool sealed_snap[NM];        /* the source froze the VM for the MANIFEST of m */
bool src_ran_after_snap[NM]; /* ... and ran it again afterwards */
bool dst_ran[NM];            /* the destination of m has resumed the VM */
#define RELEASED(m) (to_d[m] & TD_RELEASE)
#define ABORTED_BY_D(m) (to_s[m] & TS_ABORT_D)
#define FENCE_D(m) (to_d[m] & TD_FENCE)
#define FENCE_S(m) (to_s[m] & TS_FENCE)
#define LOST(h) (pc[h] == P_LOST)

#if NM > 1
#define RUNNING_COUNT (running[0] + running[1] + running[2])
#else
#define RUNNING_COUNT (running[0] + running[1])
#endif
#define ONE_RUNNING (RUNNING_COUNT == 1)

hidden byte pick;

/* ---- sealed state and counter ---- */
/* Seal mem[h] with tag counter + 1. A version with the same content and a lower tag is dominated by
   the new one (same effect when chosen, and it stops passing the check sooner), so dom0's store keeps
   one version per content; the model must never drop one that could still pass the check. */
inline seal_write(h) {
  if
  :: dtag[h * K] > T_OLD && dval[h * K] == mem[h] -> dtag[h * K] = T_P1
  :: dtag[h * K + 1] > T_OLD && dval[h * K + 1] == mem[h] ->
     dtag[h * K + 1] = dtag[h * K]; dval[h * K + 1] = dval[h * K];
     dtag[h * K] = T_P1;            dval[h * K] = mem[h]
  :: else ->
     assert(ANY_MUTATION || dtag[h * K + 2] == T_OLD || dval[h * K + 2] == mem[h]);
     dtag[h * K + 2] = dtag[h * K + 1]; dval[h * K + 2] = dval[h * K + 1];
     dtag[h * K + 1] = dtag[h * K];     dval[h * K + 1] = dval[h * K];
     dtag[h * K] = T_P1;                dval[h * K] = mem[h]
  fi
}
/* A version that can no longer pass the check is forgotten (its content cannot matter any more). */
#define AGE(i) \
  if :: dtag[i] > T_OLD -> dtag[i]-- :: else -> skip fi; \
  if :: dtag[i] == T_OLD || (dtag[i] == T_M1 && !M_ACCEPT_ONE_BELOW) -> dtag[i] = T_OLD; dval[i] = 0 :: else -> skip fi
inline counter_inc(h) {
  AGE(h * K); AGE(h * K + 1); AGE(h * K + 2)
}
/* A decision: mem[h] already holds the new state. Seal it now; the increment and the action are
   separate steps of the hypervisor, so a crash can fall between them. */
inline decide(h, a) {
  seal_write(h);
  act[h] = a;
  if
  :: M_ACT_BEFORE_COMMIT -> pc[h] = P_ACT
  :: else -> pc[h] = P_INC
  fi
}
#define HV_UP(h) (pc[h] != P_DOWN && pc[h] != P_LOST)
#define HV_FREE(h) (pc[h] == P_IDLE && !indoubt[h])

#ifdef LIVENESS
#define EMIT_D(m, t) to_d[m] = to_d[m] | (t); fwd_d[m] = fwd_d[m] & (255 - (t))
#define EMIT_S(m, t) to_s[m] = to_s[m] | (t); fwd_s[m] = fwd_s[m] & (255 - (t))
#else
#define EMIT_D(m, t) to_d[m] = to_d[m] | (t)
#define EMIT_S(m, t) to_s[m] = to_s[m] | (t)
#endif

/* ---- resume rules: the only places where a copy starts to run ---- */
#define S_HOLDS(m) (PH(m) != S_DONE)
#define S_BLOCKS(m) (PH(m) == S_SEALED || (PH(m) == S_RELEASED && !M_SRC_RESUME_AFTER_RELEASE))
#if NM > 1
#define SRC_HOLDS (!src_destroyed && S_HOLDS(0) && S_HOLDS(1))
#define SRC_MAY_RESUME (SRC_HOLDS && !S_BLOCKS(0) && !S_BLOCKS(1))
#define SRC_ANY_SEALED (PH(0) == S_SEALED || PH(1) == S_SEALED)
#define SRC_NO_RELEASED (PH(0) != S_RELEASED && PH(1) != S_RELEASED)
#else
#define SRC_HOLDS (!src_destroyed && S_HOLDS(0))
#define SRC_MAY_RESUME (SRC_HOLDS && !S_BLOCKS(0))
#define SRC_ANY_SEALED (PH(0) == S_SEALED)
#define SRC_NO_RELEASED (PH(0) != S_RELEASED)
#endif
#define DST_MAY_RESUME(m) \
  (mem[DST(m)] == D_RESUMING || (M_DST_RESUME_ON_READY && mem[DST(m)] == D_READY))

/* The source starts running: check every property about the copy that runs now. */
inline src_run() {
  running[SRC] = true;
  assert(RUNNING_COUNT <= 1);                          /* (a) */
  assert(!RELEASED(0) || ABORTED_BY_D(0) || FENCE_S(0)); /* (b) source side */
  assert(!dst_ran[0] || LOST(DST(0)));                 /* (a) no fork through a crash */
  if :: sealed_snap[0] -> src_ran_after_snap[0] = true :: else -> skip fi;
#if NM > 1
  assert(!RELEASED(1) || ABORTED_BY_D(1) || FENCE_S(1));
  assert(!dst_ran[1] || LOST(DST(1)));
  if :: sealed_snap[1] -> src_ran_after_snap[1] = true :: else -> skip fi;
#endif
}
inline src_resume() {
  if
  :: !running[SRC] && SRC_MAY_RESUME -> src_run()
  :: else -> skip
  fi
}
inline dst_resume(m) {
  if
  :: !running[DST(m)] && DST_MAY_RESUME(m) ->
     running[DST(m)] = true;
     assert(RUNNING_COUNT <= 1);                       /* (a) */
     assert(RELEASED(m) || FENCE_D(m));                /* (b) */
     assert(FENCE_D(m) || !src_ran_after_snap[m]);     /* (d) */
     assert(NM == 1 || !dst_ran[1 - m] || LOST(DST(1 - m))); /* (a) the other migration's copy */
     dst_ran[m] = true
  :: else -> skip
  fi
}

/* ---- the source hypervisor ---- */
inline src_start(m) {
  SET_LOCK(m + 1); SET_PH(m, S_LOCKED); src_actm = m; decide(SRC, A_HELLO)
}
inline src_abort(m, a) {   /* before RELEASE (own decision), or with the ABORT token or a fence */
  SET_PH(m, S_ABORTED);
  if :: LOCK == m + 1 -> SET_LOCK(0) :: else -> skip fi;
  src_actm = m; decide(SRC, a)
}
inline src_seal_manifest(m) {   /* freezes the VM: the MANIFEST describes this snapshot */
  running[SRC] = false; sealed_snap[m] = true; SET_PH(m, S_SEALED); src_actm = m; decide(SRC, A_MANIFEST)
}
/* dom0 asks the source hypervisor to resume the VM */
inline src_resume_request() {
  if
  :: PH(0) == S_SEALED && !M_RESUME_KEEPS_MANIFEST -> src_abort(0, A_ABORT_RESUME)
#if NM > 1
  :: PH(1) == S_SEALED && !M_RESUME_KEEPS_MANIFEST -> src_abort(1, A_ABORT_RESUME)
#endif
  :: M_RESUME_KEEPS_MANIFEST && SRC_ANY_SEALED && SRC_HOLDS && SRC_NO_RELEASED -> src_run()
  :: else -> src_resume()
  fi
}
inline src_on_ready(m) {
  if
  :: !indoubt[SRC] && PH(m) == S_SEALED && (LOCK == m + 1 || M_NO_LOCK) ->
     SET_PH(m, S_RELEASED); src_actm = m; decide(SRC, A_RELEASE)
  :: !indoubt[SRC] && PH(m) == S_RELEASED -> EMIT_D(m, TD_RELEASE)   /* a lost RELEASE is re-served */
  :: else -> skip
  fi
}
inline src_on_abort_d(m) {
  if
  :: !indoubt[SRC] && (PH(m) == S_LOCKED || PH(m) == S_SEALED || PH(m) == S_RELEASED) -> src_abort(m, A_RESUME)
  :: else -> skip
  fi
}
inline src_on_done(m) {
  if
  :: !indoubt[SRC] && PH(m) == S_RELEASED ->
     SET_PH(m, S_DONE);
     if :: LOCK == m + 1 -> SET_LOCK(0) :: else -> skip fi;
     src_actm = m; decide(SRC, A_NONE)
  :: else -> skip
  fi
}
inline src_on_fence(m) {
  if
  :: !indoubt[SRC] && PH(m) == S_RELEASED -> src_abort(m, A_RESUME)
  :: else -> skip
  fi
}
inline src_act() {
  if
  :: act[SRC] == A_HELLO -> s_sess[src_actm] = true; EMIT_D(src_actm, TD_HELLO); newest = src_actm
  :: act[SRC] == A_MANIFEST -> EMIT_D(src_actm, TD_MANIFEST)
  :: act[SRC] == A_RELEASE -> EMIT_D(src_actm, TD_RELEASE)
  :: act[SRC] == A_ABORT_RESUME -> EMIT_D(src_actm, TD_ABORT_S); src_resume()
  :: act[SRC] == A_RESUME -> src_resume()
  :: act[SRC] == A_NONE -> skip
  fi
}
/* after a restart the source re-serves what its decisions imply (the agent retries it) */
inline src_reserve() {
  if :: PH(0) == S_RELEASED -> EMIT_D(0, TD_RELEASE) :: else -> skip fi;
#if NM > 1
  if :: PH(1) == S_RELEASED -> EMIT_D(1, TD_RELEASE) :: else -> skip fi;
#endif
}

/* ---- the destination hypervisor of migration m (host DST(m)) ---- */
inline dst_on_hello(m) {   /* the handshake: both ends of the session alive, once per migration id */
  if
  :: !indoubt[DST(m)] && mem[DST(m)] == D_NONE && s_sess[m] ->
     d_recv[m] = true; to_d[m] = to_d[m] & (255 - TD_HELLO)
  :: else -> skip
  fi
}
inline dst_on_manifest(m) {   /* AEAD under the session key: only the live session of m opens it */
  if
  :: !indoubt[DST(m)] && d_recv[m] && mem[DST(m)] == D_NONE -> mem[DST(m)] = D_READY; decide(DST(m), A_READY)
  :: else -> skip
  fi
}
inline dst_on_release(m) {
  if
  :: !indoubt[DST(m)] && mem[DST(m)] == D_READY -> mem[DST(m)] = D_RESUMING; decide(DST(m), A_RESUME_DONE)
  :: !indoubt[DST(m)] && mem[DST(m)] == D_RESUMING -> EMIT_S(m, TS_DONE)    /* duplicate RELEASE: re-serve DONE */
  :: !indoubt[DST(m)] && mem[DST(m)] == D_ABORTED && !M_NO_RETRY -> EMIT_S(m, TS_ABORT_D)  /* too late: re-serve ABORT */
  :: else -> skip
  fi
}
inline dst_on_abort_s(m) {
  if
  :: !indoubt[DST(m)] && mem[DST(m)] == D_READY -> mem[DST(m)] = D_CANCELLED; decide(DST(m), A_NONE)
  :: else -> d_recv[m] = false
  fi
}
inline dst_on_fence(m) {
  if
  :: !indoubt[DST(m)] && mem[DST(m)] == D_READY -> mem[DST(m)] = D_RESUMING; decide(DST(m), A_FENCE_RESUME)
  :: else -> skip
  fi
}
inline dst_act(m) {
  if
  :: act[DST(m)] == A_READY -> EMIT_S(m, TS_READY); dst_resume(m)   /* resumes only in a mutant */
  :: act[DST(m)] == A_RESUME_DONE -> dst_resume(m); EMIT_S(m, TS_DONE)
  :: act[DST(m)] == A_FENCE_RESUME -> dst_resume(m)
  :: act[DST(m)] == A_ABORT_D -> EMIT_S(m, TS_ABORT_D)
  :: act[DST(m)] == A_NONE -> skip
  fi
}
inline dst_reserve(m) {
  if
  :: mem[DST(m)] == D_READY -> EMIT_S(m, TS_READY)
  :: mem[DST(m)] == D_RESUMING -> EMIT_S(m, TS_DONE)
  :: mem[DST(m)] == D_ABORTED -> EMIT_S(m, TS_ABORT_D)
  :: else -> skip
  fi
}

/* ---- crash, loss and restart ---- */
inline src_crash(final) {
  running[SRC] = false; indoubt[SRC] = false; act[SRC] = A_NONE; src_actm = 0;
  s_sess[0] = false; to_d[0] = to_d[0] & (255 - TD_HELLO);
#if NM > 1
  s_sess[1] = false; to_d[1] = to_d[1] & (255 - TD_HELLO);
#endif
  pc[SRC] = final
}
inline dst_crash(m, final) {
  running[DST(m)] = false; indoubt[DST(m)] = false; act[DST(m)] = A_NONE; d_recv[m] = false;
  pc[DST(m)] = final
}
/*
 * dom0 chooses which sealed version the restarting hypervisor reads: the newest, an older one, or none.
 * It holds every version ever written; the model keeps the newest K = 3 distinct ones. Under the real
 * rules no version is ever written above counter + 1, and between two restarts at most three distinct
 * (tag, content) versions pass the check (the state at the counter, an unfinished decision, and the
 * first re-seal of a recovery), all among the newest three; older ones are rejected whatever they hold.
 * In the liveness run dom0 offers only versions that pass (a rejected one leaves the host in doubt,
 * which is fail-safe but not live), and anything but the newest costs budget.
 */
inline recover(h) {
  if
  :: pick = 0
#ifdef LIVENESS
  :: MISBEHAVE && (dtag[h * K + 1] == T_Z || dtag[h * K + 1] == T_P1) -> SPEND; pick = 1
#else
  :: pick = 1
  :: pick = 2
  :: pick = K
#endif
  fi;
  if
  :: pick < K && (dtag[h * K + pick] == T_Z || dtag[h * K + pick] == T_P1 ||
                  (M_ACCEPT_ONE_BELOW && dtag[h * K + pick] == T_M1)) ->
     mem[h] = dval[h * K + pick];
     if :: M_NO_RECOMMIT -> pc[h] = P_IDLE :: else -> pc[h] = P_RB_W1 fi
  :: pick == K && M_TRUST_DELETED_STATE ->
     mem[h] = 0; pc[h] = P_IDLE   /* broken: "no state" read as a fresh host */
  :: else -> indoubt[h] = true; mem[h] = 0; pc[h] = P_IDLE   /* knows nothing, decides nothing */
  fi;
  pick = 0
}
inline recovery_step(h) {
  if
  :: pc[h] == P_RB_W1 -> seal_write(h); pc[h] = P_RB_I1
  :: pc[h] == P_RB_I1 -> counter_inc(h); pc[h] = P_RB_W2
  :: pc[h] == P_RB_W2 -> seal_write(h); pc[h] = P_RB_FIN
  :: pc[h] == P_RB_FIN -> counter_inc(h); pc[h] = P_IDLE
  fi
}

/* ---- processes ---- */
proctype Source() {
end:
  do
  :: atomic { pc[SRC] == P_INC -> counter_inc(SRC);
              if :: M_ACT_BEFORE_COMMIT -> pc[SRC] = P_IDLE :: else -> pc[SRC] = P_ACT fi }
  :: atomic { pc[SRC] == P_ACT -> src_act(); act[SRC] = A_NONE; src_actm = 0;
              if :: M_ACT_BEFORE_COMMIT -> pc[SRC] = P_INC :: else -> pc[SRC] = P_IDLE fi }
  :: atomic { pc[SRC] == P_DOWN -> recover(SRC); if :: HV_FREE(SRC) -> src_reserve() :: else -> skip fi }
  :: atomic { pc[SRC] >= P_RB_W1 -> recovery_step(SRC); if :: HV_FREE(SRC) -> src_reserve() :: else -> skip fi }
     /* freeze the VM and seal the MANIFEST; needs the session (handshake done) */
  :: atomic { HV_FREE(SRC) && PH(0) == S_LOCKED && (LOCK == 1 || M_NO_LOCK) && s_sess[0] && !(to_d[0] & TD_HELLO) ->
              src_seal_manifest(0) }
#if NM > 1
  :: atomic { HV_FREE(SRC) && PH(1) == S_LOCKED && (LOCK == 2 || M_NO_LOCK) && s_sess[1] && !(to_d[1] & TD_HELLO) ->
              src_seal_manifest(1) }
#endif
     /* deadline, error or operator cancel before RELEASE: abort and resume */
  :: atomic { HV_FREE(SRC) && (PH(0) == S_LOCKED || PH(0) == S_SEALED) -> src_abort(0, A_ABORT_RESUME) }
#if NM > 1
  :: atomic { HV_FREE(SRC) && (PH(1) == S_LOCKED || PH(1) == S_SEALED) -> src_abort(1, A_ABORT_RESUME) }
#endif
#ifdef LIVENESS
     /* no answer to RELEASE: re-serve it (the agent retries) */
  :: atomic { !M_NO_RETRY && HV_FREE(SRC) && PH(0) == S_RELEASED && (fwd_d[0] & TD_RELEASE) && (fwd_s[0] & 7) == (to_s[0] & 7) ->
              EMIT_D(0, TD_RELEASE) }
#if NM > 1
  :: atomic { !M_NO_RETRY && HV_FREE(SRC) && PH(1) == S_RELEASED && (fwd_d[1] & TD_RELEASE) && (fwd_s[1] & 7) == (to_s[1] & 7) ->
              EMIT_D(1, TD_RELEASE) }
#endif
#endif
  od
}

proctype Destination(byte m) {
end:
  do
  :: atomic { pc[DST(m)] == P_INC -> counter_inc(DST(m));
              if :: M_ACT_BEFORE_COMMIT -> pc[DST(m)] = P_IDLE :: else -> pc[DST(m)] = P_ACT fi }
  :: atomic { pc[DST(m)] == P_ACT -> dst_act(m); act[DST(m)] = A_NONE;
              if :: M_ACT_BEFORE_COMMIT -> pc[DST(m)] = P_INC :: else -> pc[DST(m)] = P_IDLE fi }
  :: atomic { pc[DST(m)] == P_DOWN -> recover(DST(m)); if :: HV_FREE(DST(m)) -> dst_reserve(m) :: else -> skip fi }
  :: atomic { pc[DST(m)] >= P_RB_W1 -> recovery_step(DST(m)); if :: HV_FREE(DST(m)) -> dst_reserve(m) :: else -> skip fi }
     /* READY deadline: no RELEASE or ABORT in time: abort and zeroize */
  :: atomic { HV_FREE(DST(m)) && (mem[DST(m)] == D_READY || (M_DST_ABORT_AFTER_RESUME && mem[DST(m)] == D_RESUMING)) ->
              mem[DST(m)] = D_ABORTED; decide(DST(m), A_ABORT_D) }
  od
}

/* A token reaches its hypervisor, which handles it at once (dom0 decides when, how often, or never). */
#define TO_DST(m, t, handler) (to_d[m] & (t)) && pc[DST(m)] == P_IDLE -> SPEND; handler(m)
#define TO_SRC(m, t, handler) (to_s[m] & (t)) && pc[SRC] == P_IDLE -> SPEND; handler(m)

/* dom0: requests to the hypervisors, and what it can do to tokens and hosts */
#define DOM0_MIGRATION(m) \
  :: atomic { HV_FREE(SRC) && (LOCK == 0 || M_NO_LOCK) && PH(m) == S_IDLE && SRC_HOLDS -> src_start(m) } \
  :: atomic { HV_FREE(DST(m)) && !running[DST(m)] && DST_MAY_RESUME(m) -> dst_resume(m) } \
  :: atomic { MISBEHAVE && running[DST(m)] -> SPEND; running[DST(m)] = false } \
  :: atomic { MISBEHAVE && MAY_CRASH && HV_UP(DST(m)) -> SPEND; CRASH_SPENT; dst_crash(m, P_DOWN) } \
  :: atomic { MISBEHAVE && TO_DST(m, TD_HELLO, dst_on_hello) } \
  :: atomic { MISBEHAVE && TO_DST(m, TD_MANIFEST, dst_on_manifest) } \
  :: atomic { MISBEHAVE && TO_DST(m, TD_RELEASE, dst_on_release) } \
  :: atomic { MISBEHAVE && TO_DST(m, TD_ABORT_S, dst_on_abort_s) } \
  :: atomic { MISBEHAVE && TO_DST(m, TD_FENCE, dst_on_fence) } \
  :: atomic { MISBEHAVE && TO_SRC(m, TS_READY, src_on_ready) } \
  :: atomic { MISBEHAVE && TO_SRC(m, TS_ABORT_D, src_on_abort_d) } \
  :: atomic { MISBEHAVE && TO_SRC(m, TS_DONE, src_on_done) } \
  :: atomic { MISBEHAVE && TO_SRC(m, TS_FENCE, src_on_fence) }

proctype Dom0() {
end:
  do
  :: atomic { HV_FREE(SRC) && !running[SRC] && (SRC_MAY_RESUME || SRC_ANY_SEALED) -> src_resume_request() }
  DOM0_MIGRATION(0)
#if NM > 1
  DOM0_MIGRATION(1)
#endif
  :: atomic { MISBEHAVE && running[SRC] -> SPEND; running[SRC] = false }
  :: atomic { MISBEHAVE && MAY_CRASH && HV_UP(SRC) -> SPEND; CRASH_SPENT; src_crash(P_DOWN) }
#ifndef LIVENESS
     /* hosts lost for good; destroy, which can only remove copies */
  :: atomic { MAY_CRASH && HV_UP(SRC) -> CRASH_SPENT; src_crash(P_LOST) }
  :: atomic { MAY_CRASH && HV_UP(DST(0)) -> CRASH_SPENT; dst_crash(0, P_LOST) }
#if NM > 1
  :: atomic { MAY_CRASH && HV_UP(DST(1)) -> CRASH_SPENT; dst_crash(1, P_LOST) }
#endif
  :: atomic { !src_destroyed -> src_destroyed = true; running[SRC] = false }
#endif
  od
}

#ifdef LIVENESS
/* The network when it works: carries each token once after each emission; dom0 may drop one (budget). */
#define CARRY_D(m, t, handler) \
  :: atomic { (to_d[m] & (t)) && !(fwd_d[m] & (t)) && pc[DST(m)] == P_IDLE -> \
              fwd_d[m] = fwd_d[m] | (t); handler(m) } \
  :: atomic { (to_d[m] & (t)) && !(fwd_d[m] & (t)) && pc[DST(m)] == P_DOWN -> fwd_d[m] = fwd_d[m] | (t) } \
  :: atomic { MISBEHAVE && (to_d[m] & (t)) && !(fwd_d[m] & (t)) -> SPEND; fwd_d[m] = fwd_d[m] | (t) }
#define CARRY_S(m, t, handler) \
  :: atomic { (to_s[m] & (t)) && !(fwd_s[m] & (t)) && pc[SRC] == P_IDLE -> fwd_s[m] = fwd_s[m] | (t); handler(m) } \
  :: atomic { (to_s[m] & (t)) && !(fwd_s[m] & (t)) && pc[SRC] == P_DOWN -> fwd_s[m] = fwd_s[m] | (t) } \
  :: atomic { MISBEHAVE && (to_s[m] & (t)) && !(fwd_s[m] & (t)) -> SPEND; fwd_s[m] = fwd_s[m] | (t) }
#define CARRY(m) \
  CARRY_D(m, TD_HELLO, dst_on_hello) CARRY_D(m, TD_MANIFEST, dst_on_manifest) CARRY_D(m, TD_RELEASE, dst_on_release) \
  CARRY_D(m, TD_ABORT_S, dst_on_abort_s) CARRY_D(m, TD_FENCE, dst_on_fence) \
  CARRY_S(m, TS_READY, src_on_ready) CARRY_S(m, TS_ABORT_D, src_on_abort_d) CARRY_S(m, TS_DONE, src_on_done) \
  CARRY_S(m, TS_FENCE, src_on_fence)
/* Time passes even when every hypervisor waits. Without a step here a state where nothing else can move
   would end the run, and spin's weak-fairness search (-f) does not extend such a finite run by
   stuttering for a <>[] claim, so a stuck system would go unreported. */
hidden byte tick;
proctype Clock() {
end:
  do
  :: tick = 1 - tick
  od
}
proctype Network() {
end:
  do
  CARRY(0)
#if NM > 1
  CARRY(1)
#endif
  od
}
#endif

/*
 * The operator: after the loss of a host for good, one fence per VM and lost host, for the newest
 * migration the attestation logs show (the tooling must refuse a fence for an older one: a destination
 * still READY for an older migration whose ABORT was dropped would otherwise run a stale copy).
 */
proctype Operator() {
end:
  do
#if NM > 1
  :: atomic { LOST(SRC) && newest != 255 && !FENCE_D(0) && !FENCE_D(1) ->
              if
              :: !M_FENCE_ANY_MIGRATION -> EMIT_D(newest, TD_FENCE)
              :: M_FENCE_ANY_MIGRATION -> EMIT_D(0, TD_FENCE)
              :: M_FENCE_ANY_MIGRATION -> EMIT_D(1, TD_FENCE)
              fi }
  :: atomic { LOST(DST(1)) && !FENCE_S(1) -> EMIT_S(1, TS_FENCE) }
#else
  :: atomic { LOST(SRC) && newest != 255 && !FENCE_D(0) -> EMIT_D(0, TD_FENCE) }
#endif
  :: atomic { LOST(DST(0)) && !FENCE_S(0) -> EMIT_S(0, TS_FENCE) }
  od
}

init {
  atomic {
    /* every hypervisor starts with its provisioned sealed state at the counter value */
    dtag[SRC * K] = T_Z; dval[SRC * K] = 0;
    dtag[DST(0) * K] = T_Z; dval[DST(0) * K] = D_NONE;
#if NM > 1
    dtag[DST(1) * K] = T_Z; dval[DST(1) * K] = D_NONE;
#endif
    running[SRC] = true;
    run Source(); run Destination(0);
#if NM > 1
    run Destination(1);
#endif
    run Dom0(); run Operator();
#ifdef LIVENESS
    run Network(); run Clock();
#endif
  }
}

#ifdef LIVENESS
ltl live { <> [] ONE_RUNNING }
#endif
