WITH calls AS (
  SELECT firm_id, ticker, gvkey, permno, transcript_id, call_date, quarter,
         n_sentences, n_words, tone, tone_per_word, unc_share
  FROM theme_exposure
  WHERE level = 'call' AND scorer = ? AND section = ? AND speaker_type = ?
    AND quarter BETWEEN ? AND ?
),
th AS (
  SELECT theme_id, quarter, name FROM themes WHERE quarter BETWEEN ? AND ? AND (? = 'all' OR coalesce(kind, 'substantive') = ?)
),
te AS (
  SELECT transcript_id, theme_id, n_sentences, n_words, exposure, exposure_words, tone, tone_per_word,
         unc_share, risk_exposure
  FROM theme_exposure
  WHERE level = 'theme' AND scorer = ? AND section = ? AND speaker_type = ?
    AND quarter BETWEEN ? AND ?
)
SELECT c.firm_id, c.ticker, c.gvkey, c.permno, c.transcript_id, c.call_date, c.quarter,
       th.theme_id, th.name AS theme_name,
       coalesce(te.n_sentences, 0) AS n_sentences, coalesce(te.n_words, 0) AS n_words,
       coalesce(te.exposure, 0.0) AS exposure, coalesce(te.exposure_words, 0.0) AS exposure_words,
       te.tone, te.tone_per_word, te.unc_share, te.risk_exposure,
       c.n_sentences AS call_n_sentences, c.n_words AS call_n_words, c.tone AS call_tone,
       c.tone_per_word AS call_tone_per_word, c.unc_share AS call_unc_share
FROM calls c
JOIN th ON th.quarter = c.quarter
LEFT JOIN te ON te.transcript_id = c.transcript_id AND te.theme_id = th.theme_id
ORDER BY c.quarter, c.firm_id, c.transcript_id, th.theme_id
