/*
 * icu_predict.h — types and constants shared by the C files of icu_predict.
 *
 * The pipeline, one folder per stage under extension/src:
 *   common/     module start and settings (GUCs)
 *   canonical/  unit_key(): the normalisation of unit spellings; UCUM units; lab values
 *   panel/      lab_panel type, lab_panel aggregate, accessors, daily series
 *   model/      model registry cache, spec validation, scorers, explanations
 *   demand/     bed-demand distribution type and aggregates (private header demand.h)
 */
#ifndef ICU_PREDICT_H
#define ICU_PREDICT_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/timestamp.h"
#include "pgtime.h"

#include "icu_compat.h"

/* Settings (defined in common/module.c). */
extern char *icu_day_timezone;      /* icu_predict.day_timezone: '' = server TimeZone */
extern char *icu_reference_time;    /* icu_predict.reference_time: '' = now() */

/* ---------------------------------------------------------------------------
 * Lab panel (panel/): per-feature statistics of one admission as of a time.
 * --------------------------------------------------------------------------- */
typedef struct LabPanel LabPanel;          /* varlena; layout private to panel/ */
#define DatumGetLabPanelP(X) ((LabPanel *) PG_DETOAST_DATUM(X))
typedef enum IcuPanelStat {
    ICU_STAT_LAST, ICU_STAT_PREV, ICU_STAT_FIRST, ICU_STAT_MIN, ICU_STAT_MAX, ICU_STAT_MEAN,
    ICU_STAT_COUNT, ICU_STAT_REJECTED, ICU_STAT_TREND, ICU_STAT_HOURS_SINCE_LAST
} IcuPanelStat;
#define ICU_STAT_NUM 10
#define ICU_PANEL_MAX_FEATURES 1000        /* features in one panel (and in the catalogue) */

/*
 * The rules every stage shares, each defined once (common/rules.c) and
 * offered to SQL and Python: the statistic names (lab_stats()), and the
 * feature-name rule (feature_name_ok(), feature_name_max_length()): a
 * lower-case ASCII letter, then letters, digits or '_', at most
 * ICU_FEATURE_NAME_MAX bytes.  The feature table's CHECK calls
 * feature_name_ok(); model/spec.py checks against lab_stats() in CI.
 */
#define ICU_FEATURE_NAME_MAX 31
extern bool icu_feature_name_ok(const char *s, int len);
extern int  icu_panel_stat_from_name(const char *name);   /* "last","prev",...; -1 if unknown */
extern const char *icu_panel_stat_name(IcuPanelStat stat);  /* NULL if out of range */
extern const char *icu_panel_stat_list(void);   /* "last, prev, ..." for hints */

/* The day-zone rule (common/settings.c): icu_predict.day_timezone, or the
 * session TimeZone when it is empty. */
extern struct pg_tz *icu_day_zone(void);
extern TimestampTz icu_panel_as_of(const LabPanel *p);
extern int  icu_panel_nfeatures(const LabPanel *p);
/*
 * Layout identity: a hash of the panel's ordered feature-name list, stored in
 * the panel header when the panel is built (reading it costs nothing).  Panels
 * with the same feature names get the same id, so feature-index resolution
 * (icu_panel_find) can be cached per id; never 0.  A hash: on a cache hit,
 * confirm with icu_panel_nfeatures() if a collision would matter.
 */
extern uint32 icu_panel_layout_id(const LabPanel *p);
extern const char *icu_panel_feature_name(const LabPanel *p, int index);  /* palloc'd copy */
extern int  icu_panel_find(const LabPanel *p, const char *feature);     /* index or -1 when the panel has no value for it */
extern bool icu_panel_value(const LabPanel *p, int index, IcuPanelStat stat, double *out); /* false: not available (e.g. trend with < 2 points, prev with 1 value) */
extern bool icu_panel_last_at(const LabPanel *p, int index, TimestampTz *out);
extern bool icu_panel_admission(const LabPanel *p, int64 *admission_id);  /* false if the panel has none */
extern double icu_panel_trend_window_hours(const LabPanel *p);

#endif							/* ICU_PREDICT_H */
