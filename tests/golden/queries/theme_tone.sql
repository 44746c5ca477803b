WITH th AS (
  SELECT theme_id, quarter, name, n_firms
  FROM themes
  WHERE quarter BETWEEN ? AND ?
    AND (strpos(lower(name), ?) > 0 OR coalesce(array_position(keywords, ?), 0) > 0) AND (? = 'all' OR coalesce(kind, 'substantive') = ?)
),
te AS (
  SELECT theme_id, transcript_id, n_sentences, exposure, pos, neg, tone
  FROM theme_exposure
  WHERE level = 'theme' AND scorer = ? AND section = ? AND speaker_type = ?
    AND quarter BETWEEN ? AND ?
),
calls AS (
  SELECT quarter, count(*) AS n_calls_quarter
  FROM theme_exposure
  WHERE level = 'call' AND scorer = ? AND section = ? AND speaker_type = ?
    AND quarter BETWEEN ? AND ?
  GROUP BY quarter
)
SELECT th.quarter, th.theme_id, th.name AS theme_name, th.n_firms,
       count(CASE WHEN te.n_sentences > 0 THEN 1 END) AS n_calls, ca.n_calls_quarter,
       CAST(coalesce(sum(te.n_sentences), 0) AS BIGINT) AS n_sentences,
       avg(CASE WHEN te.n_sentences > 0 THEN te.exposure END) AS mean_exposure,
       CAST(sum(te.pos) - sum(te.neg) AS DOUBLE) / nullif(sum(te.pos) + sum(te.neg), 0) AS tone,
       avg(te.tone) AS mean_call_tone
FROM th
LEFT JOIN te ON te.theme_id = th.theme_id
LEFT JOIN calls ca ON ca.quarter = th.quarter
GROUP BY th.quarter, th.theme_id, th.name, th.n_firms, ca.n_calls_quarter
ORDER BY th.quarter, th.theme_id
