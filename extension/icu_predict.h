/*
 * icu_predict.h — types and constants shared by the C files of icu_predict.
 *
 * The pipeline, one file per concept:
 *   icu_predict.c  module start and settings (GUCs)
 *   panel.c        lab_panel type, lab_panel aggregate, accessors, daily series
 *   model*.c       model registry cache, spec validation, scorers, explanations
 *   demand.c       bed-demand (Poisson-binomial) distribution type and aggregates
 */
#ifndef ICU_PREDICT_H
#define ICU_PREDICT_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/timestamp.h"

/* Settings (defined in icu_predict.c). */
extern char *icu_day_timezone;      /* icu_predict.day_timezone: '' = server TimeZone */
extern char *icu_reference_time;    /* icu_predict.reference_time: '' = now() */

#endif							/* ICU_PREDICT_H */
