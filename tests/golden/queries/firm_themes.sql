WITH te AS (
  SELECT quarter, transcript_id, call_date, theme_id, theme_name, n_sentences, exposure, tone
  FROM theme_exposure
  WHERE firm_id = ? AND scorer = ? AND level = 'theme' AND section = 'all' AND speaker_type = 'all'
    AND quarter BETWEEN ? AND ?
),
th AS (
  SELECT theme_id, n_firms FROM themes WHERE quarter BETWEEN ? AND ? AND (? = 'all' OR coalesce(kind, 'substantive') = ?)
)
SELECT te.quarter, te.transcript_id, te.call_date,
       row_number() OVER (PARTITION BY te.transcript_id ORDER BY te.n_sentences DESC, te.theme_id) AS theme_rank,
       te.theme_id, te.theme_name, th.n_firms AS theme_n_firms, te.n_sentences, te.exposure, te.tone
FROM te
JOIN th ON th.theme_id = te.theme_id
ORDER BY te.quarter, te.call_date, te.transcript_id, theme_rank
