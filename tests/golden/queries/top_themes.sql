WITH ranked AS (
  SELECT theme_id, name, n_firms, n_topics, n_sentences,
         row_number() OVER (ORDER BY n_firms DESC, n_sentences DESC, theme_id) AS theme_rank
  FROM themes
  WHERE quarter = ? AND (? = 'all' OR coalesce(kind, 'substantive') = ?)
),
chosen AS (
  SELECT theme_id, name, n_firms, n_topics, n_sentences, theme_rank FROM ranked WHERE theme_rank <= ?
),
candidates AS (
  SELECT tp.theme_id, s.sentence_id, s.firm_id, s.topic_prob,
         row_number() OVER (PARTITION BY tp.theme_id, s.firm_id
                            ORDER BY CASE WHEN s.was_outlier THEN 1 ELSE 0 END, s.topic_prob DESC NULLS LAST,
                                     s.sentence_id) AS firm_pick
  FROM sentences s
  JOIN topics tp ON tp.topic_id = s.topic_id
  JOIN chosen ch ON ch.theme_id = tp.theme_id
  WHERE s.quarter = ? AND tp.quarter = ?
),
picked AS (
  SELECT theme_id, sentence_id, firm_id, example_rank
  FROM (SELECT theme_id, sentence_id, firm_id,
               row_number() OVER (PARTITION BY theme_id
                                  ORDER BY firm_pick, topic_prob DESC NULLS LAST, sentence_id) AS example_rank
        FROM candidates) ranked_examples
  WHERE example_rank <= ?
),
texts AS (
  SELECT sentence_id, raw_text FROM transcripts WHERE quarter = ?
)
SELECT ch.theme_rank, ch.theme_id, ch.name AS theme_name, ch.n_firms, ch.n_topics, ch.n_sentences,
       p.example_rank, p.firm_id AS example_firm_id, p.sentence_id AS example_sentence_id,
       tx.raw_text AS example_text
FROM chosen ch
LEFT JOIN picked p ON p.theme_id = ch.theme_id
LEFT JOIN texts tx ON tx.sentence_id = p.sentence_id
ORDER BY ch.theme_rank, p.example_rank
