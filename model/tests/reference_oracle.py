"""A second, independent implementation of the NEWS2 and ISARIC 4C Mortality
point tables, in numpy: the test oracle of the SQL definitions
(extension/sql/26_reference_scores.sql, used by model/reference_scores.py).
Not used by the package.  Missing components (NaN) score 0, as in SQL."""
import numpy as np


def _bands(x, edges, points):
    """Points of value x: points[k] for edges[k-1] < x <= edges[k] (upper
    edges inclusive; the last band open); 0 for NaN."""
    x = np.asarray(x, float)
    out = np.full(x.shape, 0.0)
    ok = np.isfinite(x)
    k = np.searchsorted(np.asarray(edges, float), x[ok], side="left")
    out[ok] = np.asarray(points, float)[k]
    return out


# NEWS2 chart 1: band upper edges (inclusive) and points
NEWS2_PARTS = {
    "resp_rate": ((8, 11, 20, 24), (3, 1, 0, 2, 3)),
    "spo2": ((91, 93, 95), (3, 2, 1, 0)),
    "sbp": ((90, 100, 110, 219), (3, 2, 1, 0, 3)),
    "heart_rate": ((40, 50, 90, 110, 130), (3, 1, 0, 1, 2, 3)),
    "temperature": ((35.0, 36.0, 38.0, 39.0), (3, 1, 0, 1, 2)),
}


def news2(resp_rate, spo2, sbp, heart_rate, temperature, gcs):
    """NEWS2 per row (oxygen taken as air); missing components score 0."""
    vals = {"resp_rate": resp_rate, "spo2": spo2, "sbp": sbp, "heart_rate": heart_rate,
            "temperature": temperature}
    s = sum(_bands(vals[k], *NEWS2_PARTS[k]) for k in NEWS2_PARTS)
    g = np.asarray(gcs, float)
    return s + np.where(np.isfinite(g) & (g < 15), 3.0, 0.0)


def isaric_4c(age, male, comorbidities, resp_rate, spo2, gcs, urea, crp):
    """ISARIC 4C Mortality Score per row; missing components score 0."""
    age = np.asarray(age, float)
    pts = _bands(np.where(np.isfinite(age), np.floor(age), np.nan), (49, 59, 69, 79), (0, 2, 4, 6, 7))
    m = np.asarray(male, float)
    pts += np.where(m == 1, 1.0, 0.0)
    c = np.asarray(comorbidities, float)
    pts += np.where(np.isfinite(c), np.minimum(np.maximum(c, 0), 2), 0.0)
    rr = np.asarray(resp_rate, float)
    pts += np.where(np.isfinite(rr), np.where(rr >= 30, 2.0, np.where(rr >= 20, 1.0, 0.0)), 0.0)
    sp = np.asarray(spo2, float)
    pts += np.where(np.isfinite(sp) & (sp < 92), 2.0, 0.0)
    g = np.asarray(gcs, float)
    pts += np.where(np.isfinite(g) & (g < 15), 2.0, 0.0)
    u = np.asarray(urea, float)
    pts += np.where(np.isfinite(u), np.where(u > 14, 3.0, np.where(u >= 7, 1.0, 0.0)), 0.0)
    cr = np.asarray(crp, float)
    pts += np.where(np.isfinite(cr), np.where(cr >= 100, 2.0, np.where(cr >= 50, 1.0, 0.0)), 0.0)
    return pts



def scores(frame):
    """{score name: points per row}, as model.reference_scores.scores() gives from SQL."""
    def col(name):
        return frame[name].to_numpy(float) if name in frame else np.full(len(frame), np.nan)
    return {
        "NEWS2": news2(col("resp_rate:last"), col("spo2:last"), col("sbp:last"), col("heart_rate:last"),
                       col("temperature:last"), col("gcs:last")),
        "ISARIC 4C Mortality": isaric_4c(col("age_years"), col("sex_male"), col("comorbidity_count"),
                                         col("resp_rate:last"), col("spo2:last"), col("gcs:last"),
                                         col("urea:last"), col("crp:last")),
    }
