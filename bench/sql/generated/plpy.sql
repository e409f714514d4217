CREATE UNLOGGED TABLE icu_bench.out_py AS SELECT * FROM icu_bench.plpy_scores('2020-06-01 00:00:00+00');

SELECT * FROM icu_bench.plpy_forecast(7.0) ORDER BY horizon_day;
