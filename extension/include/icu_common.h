/*
 * icu_common.h — helpers every stage uses: the error policy, the aggregate
 * memory context, bounded reading of serialized bytes, and the shortest
 * round-trip writer for doubles.  Defined in extension/src/common/.
 *
 * Error policy (docs/errors.md is the reference; one table, used everywhere):
 *
 *   ICU_ERR_TEXT       22P02  malformed text input of a type (lab_panel,
 *                             bed_demand), unparseable setting text
 *   ICU_ERR_BINARY     22P03  malformed binary input (receive functions,
 *                             serialized aggregate states)
 *   ICU_ERR_ARGUMENT   22023  an argument or setting with a value that makes
 *                             no sense: NaN or infinity where a finite
 *                             number is needed, a probability outside [0,1],
 *                             an unknown statistic name, a bad model spec
 *   ICU_ERR_RANGE      22003  a finite number outside the range the result
 *                             can represent (overflow, a count too large)
 *   ICU_ERR_DATETIME   22008  a time outside the timestamptz range
 *   ICU_ERR_UNDEFINED  42704  a named object that does not exist (feature,
 *                             model, model version)
 *   ICU_ERR_LIMIT      54000  a documented size limit exceeded (features per
 *                             panel, values per feature, trees per model)
 *   ICU_ERR_STATE      55000  the object exists but is not in a usable state
 *                             (no active model in a slot)
 *   ICU_ERR_CONTEXT    XX000  (elog) cannot happen: called outside the
 *                             context the SQL declaration guarantees
 *
 * Every user error goes through ereport() with one of these codes, an errmsg
 * that names the value and the object, and an errhint where the user can act.
 * Messages carry no "icu_predict:" prefix: the SQL object name already says
 * where they come from.
 */
#ifndef ICU_COMMON_H
#define ICU_COMMON_H

#include "postgres.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

#include "icu_compat.h"

#define ICU_ERR_TEXT		ERRCODE_INVALID_TEXT_REPRESENTATION
#define ICU_ERR_BINARY		ERRCODE_INVALID_BINARY_REPRESENTATION
#define ICU_ERR_ARGUMENT	ERRCODE_INVALID_PARAMETER_VALUE
#define ICU_ERR_RANGE		ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE
#define ICU_ERR_DATETIME	ERRCODE_DATETIME_VALUE_OUT_OF_RANGE
#define ICU_ERR_UNDEFINED	ERRCODE_UNDEFINED_OBJECT
#define ICU_ERR_LIMIT		ERRCODE_PROGRAM_LIMIT_EXCEEDED
#define ICU_ERR_STATE		ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE

/*
 * Malformed input of one of the extension's types or states.  form says
 * where the value came from: its text form (22P02), its binary form or a
 * serialized aggregate state (22P03), or argument values an aggregate or
 * function was given (22023); what names it ("lab_panel", "bed_demand
 * aggregate state"); the detail says what is wrong.
 */
typedef enum IcuInputForm
{
	ICU_INPUT_TEXT,
	ICU_INPUT_BINARY,
	ICU_INPUT_VALUES
} IcuInputForm;

ICU_NORETURN extern void icu_invalid_input(IcuInputForm form, const char *what,
										   const char *detail_fmt,...) pg_attribute_printf(3, 4);

/* The aggregate memory context of an aggregate support function. */
extern MemoryContext icu_agg_context(FunctionCallInfo fcinfo, const char *fname);

/* Name of a non-finite double for messages: "NaN", "Infinity", "-Infinity". */
extern const char *icu_nonfinite_name(double v);

/*
 * Bounded reader over serialized bytes: every read is checked against the
 * bytes left, and a short read is an icu_invalid_input() error of the given
 * form, naming what was read.
 */
typedef struct IcuReader
{
	const char *pos;
	Size		left;
	IcuInputForm form;
	const char *what;
} IcuReader;

extern void icu_reader_init(IcuReader *r, const char *data, Size len,
							IcuInputForm form, const char *what);
extern void icu_read_bytes(IcuReader *r, void *dst, Size n);
#define icu_read_value(r, var) icu_read_bytes((r), &(var), sizeof(var))

/*
 * Writer of a serialized state into a bytea sized in advance: every write is
 * checked against the room left ("cannot happen" when the size was computed
 * right), so serialize and deserialize share one discipline.
 */
typedef struct IcuWriter
{
	bytea	   *out;
	char	   *pos;
	Size		left;
} IcuWriter;

extern void icu_writer_init(IcuWriter *w, Size payload);
extern void icu_write_bytes(IcuWriter *w, const void *src, Size n);
#define icu_write_value(w, var) icu_write_bytes((w), &(var), sizeof(var))
extern bytea *icu_writer_finish(IcuWriter *w);	/* the bytea, all of it written */

/* Shortest text that reads back as the same double (float8out's digits). */
extern void icu_append_double(StringInfo buf, double v);

#endif							/* ICU_COMMON_H */
