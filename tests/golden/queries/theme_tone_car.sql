WITH te AS (
  SELECT firm_id, ticker, transcript_id, call_date, quarter, theme_id, theme_name, n_sentences, exposure, tone
  FROM theme_exposure
  WHERE level = 'theme' AND scorer = ? AND section = 'all' AND speaker_type = 'all'
    AND quarter BETWEEN ? AND ?
    AND (? = '' OR theme_id = ?)
),
ec AS (
  SELECT firm_id, transcript_id, day0, window_start, window_end, car, car_ma, bhar, tone
  FROM event_cars
  WHERE window_start = ? AND window_end = ? AND excluded IS NULL
    AND quarter BETWEEN ? AND ?
)
SELECT te.quarter, te.theme_id, te.theme_name, te.firm_id, te.ticker, te.transcript_id, te.call_date, ec.day0,
       te.n_sentences, te.exposure, te.tone AS theme_tone, ec.tone AS call_tone,
       ec.window_start, ec.window_end, ec.car, ec.car_ma, ec.bhar
FROM te
JOIN ec ON ec.transcript_id = te.transcript_id AND ec.firm_id = te.firm_id
ORDER BY te.quarter, te.theme_id, te.firm_id, te.transcript_id
