WITH c AS (
  SELECT firm_id, quarter, count(*) AS n_topics, CAST(sum(n_sentences) AS BIGINT) AS n_sentences,
         CAST(max(similarity) AS DOUBLE) AS max_similarity
  FROM theme_contributions
  WHERE theme_id = ?
  GROUP BY firm_id, quarter
),
te AS (
  SELECT transcript_id, exposure, tone
  FROM theme_exposure
  WHERE theme_id = ? AND scorer = ? AND level = 'theme' AND section = 'all' AND speaker_type = 'all'
)
SELECT c.quarter, c.firm_id, f.firm_name, f.ticker, f.transcript_id, f.call_date,
       c.n_topics, c.n_sentences, c.max_similarity, te.exposure, te.tone
FROM c
LEFT JOIN firms f ON f.firm_id = c.firm_id AND f.quarter = c.quarter
LEFT JOIN te ON te.transcript_id = f.transcript_id
ORDER BY c.n_sentences DESC, c.firm_id
