/*
 * demand.h — private header of the bed-demand stage (extension/src/demand/):
 * the on-disk type, the working state of the aggregates and the pmf helpers
 * that more than one file of the stage uses.  Nothing outside demand/
 * includes it.
 *
 * The files of the stage, by phase:
 *   pmf.c        working state, trimming, convolution, state <-> value
 *   type.c       bed_demand type: validation, text and binary I/O
 *   aggregate.c  the bed_demand(p) and bed_demand_sum(d) aggregates
 *   functions.c  add, mean, variance, quantile, prob_exceeds, pmf, trimmed_mass
 *   inflow.c     count distributions of new arrivals: Poisson, negative binomial
 *   mixture.c    the bed_demand_mixture aggregate, Gauss-Hermite normal nodes
 *   score.c      grading against the observed count: cdf, crps, pit, pit_cdf
 *
 * Representation.  A distribution is the pmf over the counts
 * offset .. offset+n-1 (probabilities of lower and higher counts are taken as
 * zero), plus "trimmed": the total probability mass dropped so far, a bound
 * on the error of every probability read from it.  The pmf is never
 * renormalised after trimming.
 */
#ifndef ICU_DEMAND_H
#define ICU_DEMAND_H

#include "icu_predict.h"
#include "icu_common.h"

#include "utils/memutils.h"

/* Largest tail mass dropped from either end of a finished distribution. */
#define ICU_DEMAND_TRIM		1e-12

/* Largest tail mass dropped from either end of a working (aggregate) state. */
#define ICU_DEMAND_WORK_TRIM	1e-15

/* Working states cut a tail only when this many entries can go at once. */
#define ICU_DEMAND_TRIM_BATCH	32

/* Sum of the pmf read from text or bytes must be 1 - trimmed within this. */
#define ICU_DEMAND_SUM_TOL	1e-6

/* Largest count (index) a distribution may reach. */
#define ICU_DEMAND_MAX_COUNT	PG_INT32_MAX

/*
 * Most multiply-adds one convolution may take (entries of one operand times
 * entries of the other), 2^30, a second or two of one core: adding two
 * distributions of 32,768 entries each.  Real bed demand is a few hundred entries wide; two
 * hostile 200,000-entry values would otherwise hold a backend for minutes
 * (54000).
 */
#define ICU_DEMAND_MAX_CONVOLVE_STEPS	((int64) 1 << 30)

/* On-disk type: varlena, double-aligned. */
typedef struct IcuBedDemand
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		offset;			/* count of pmf[0] */
	int32		n;				/* number of pmf entries, >= 1 */
	int32		reserved;		/* zero; keeps pmf 8-byte aligned */
	float8		trimmed;		/* probability mass dropped so far */
	float8		pmf[FLEXIBLE_ARRAY_MEMBER];
} IcuBedDemand;

#define ICU_DEMAND_HDRSZ	offsetof(IcuBedDemand, pmf)
#define ICU_DEMAND_MAX_N	((int32) ((MaxAllocSize - ICU_DEMAND_HDRSZ) / sizeof(float8)))

#define DatumGetBedDemandP(X)	((IcuBedDemand *) PG_DETOAST_DATUM(X))
#define PG_GETARG_BED_DEMAND_P(n)	DatumGetBedDemandP(PG_GETARG_DATUM(n))

/* Aggregate (working) state: the live window is buf[start .. start+len). */
typedef struct IcuDemandState
{
	int64		offset;			/* count of buf[start] */
	int32		start;
	int32		len;
	int32		cap;
	float8		trimmed;
	float8	   *buf;
} IcuDemandState;

/* pmf.c: working states */
extern IcuDemandState *icu_demand_state_new(MemoryContext cxt, int64 offset, int32 cap);
extern IcuDemandState *icu_demand_state_unit(MemoryContext cxt);
extern void icu_demand_check_count(int64 top);
/* score.c: x in [0, 1] (NaN is not), else 22023 "<name> <x> is outside [0, 1]" */
extern void icu_demand_check_unit_interval(float8 x, const char *name);
extern void icu_demand_state_make_room(IcuDemandState *st, MemoryContext cxt);
extern void icu_demand_trim(float8 *pmf, int32 *start, int32 *len, int64 *offset,
							float8 *trimmed, float8 threshold, int32 batch);
extern void icu_demand_state_add_bernoulli(IcuDemandState *st, float8 p, MemoryContext cxt);
extern void icu_demand_state_convolve(IcuDemandState *st, const float8 *b, int32 nb,
									  int64 boff, float8 btrim, MemoryContext cxt);
extern IcuDemandState *icu_demand_state_copy(const IcuDemandState *src, MemoryContext cxt);
extern IcuDemandState *icu_demand_state_from_value(const IcuBedDemand *d, MemoryContext cxt);

/* pmf.c: finished values */
extern IcuBedDemand *icu_demand_from_pmf(const float8 *pmf, int32 n, int64 offset, float8 trimmed);
extern IcuBedDemand *icu_demand_from_state(const IcuDemandState *st);

/* type.c: validation and the binary format shared with the aggregates */
extern void icu_demand_validate(int64 offset, const float8 *pmf, int32 n, float8 trimmed,
								int sqlstate, const char *what);
extern void icu_demand_send_pmf(StringInfo buf, const float8 *pmf, int32 n,
								int64 offset, float8 trimmed);
extern float8 *icu_demand_recv_pmf(StringInfo buf, int32 *n_out, int64 *offset_out,
								   float8 *trimmed_out, int sqlstate, const char *what);

#endif							/* ICU_DEMAND_H */
