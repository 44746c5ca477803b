"""The lake on S3 with the Glue catalog, against moto's server: the notebook's write/publish/read/connect flow, and the
sample quarter published through Glue and read back as Athena would (each Glue table's `metadata_location`).

DuckDB reads the Iceberg tables through its httpfs, avro and iceberg extensions, loaded offline from their wheels."""
import pytest
import boto3
import pyarrow as pa
from ftm.lake import schema
from ftm.config import Config, CatalogConfig, load_config
from ftm.lake import Lake, LakeError, connect

BUCKET = 'ftm-lake-test'





@pytest.fixture
def s3(endpoint, monkeypatch, request):
    "A fresh bucket prefix and Glue database on the moto server, with test credentials in the environment."
    for k in ('AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_GLUE'):
        monkeypatch.delenv(k, raising=False)
    for k, v in dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION='us-east-1',
                     AWS_REGION='us-east-1', AWS_EC2_METADATA_DISABLED='true').items(): monkeypatch.setenv(k, v)
    c = boto3.client('s3', endpoint_url=endpoint)
    if BUCKET not in [b['Name'] for b in c.list_buckets().get('Buckets', [])]: c.create_bucket(Bucket=BUCKET)
    ns = request.node.name.replace('test_', '').lower()[:60]    # one Glue database per test
    return endpoint, f's3://{BUCKET}/{request.node.name}', CatalogConfig(namespace=ns)


def themes(q, n, tag='a'):
    return [dict(theme_id=f'theme_{q}_{i:03d}', quarter=q, name=f'{tag}{i}', description=None, keywords=['x', 'y'],
                 n_topics=2, n_firms=2, n_sentences=10, naming_method='keywords', naming_model=None,
                 prompt_version=None) for i in range(n)]


def contribs(q, n):
    return [dict(theme_id=f'theme_{q}_000', topic_id=f'{q}_F{i}_000', firm_id=f'F{i}', quarter=q, similarity=0.5,
                 n_sentences=3) for i in range(n)]


def test_s3_flow(s3):
    endpoint, root, cat = s3
    lake = Lake(root, endpoint_url=endpoint, catalog=cat)
    assert lake.uri == root and type(lake.catalog).__name__ == 'GlueCatalog'

    w1 = lake.start_run('2016Q2', kind='reduce')
    w1.write('themes', themes('2016Q2', 3))
    w1.write('theme_contributions', contribs('2016Q2', 4), part='batch-0')
    assert lake.runs() == [] and lake.read('themes').num_rows == 0            # staged: invisible
    r1 = w1.publish(meta={'n': 1})
    assert r1.rows('themes') == 3 and lake.read('themes', '2016Q2').num_rows == 3
    assert lake.read('themes').schema == schema.THEMES

    # a second run of the quarter replaces the first in reads; the first stays readable by id (time travel)
    w2 = lake.start_run('2016Q2', kind='reduce')
    w2.write('themes', themes('2016Q2', 5, tag='b'))
    w2.publish()
    assert sorted(lake.read('themes', '2016Q2')['name'].to_pylist()) == [f'b{i}' for i in range(5)]
    assert lake.read('themes', run_id=w1.run_id).num_rows == 3
    assert lake.read('theme_contributions', '2016Q2').num_rows == 4            # carried from the run it was based on

    # resume an unpublished run: parts and checkpoints survive the writer
    w3 = lake.start_run('2016Q3', run_id='resume-me', kind='map')
    w3.write('themes', themes('2016Q3', 4)[:2], part='batch-0000')
    w3.set_checkpoint('batch-0000', {'done': True})
    w3 = lake.start_run('2016Q3', run_id='resume-me', resume=True)
    assert w3.checkpoints() == {'batch-0000': {'done': True}} and list(w3.parts()) == ['themes']
    w3.write('themes', themes('2016Q3', 4)[2:], part='batch-0001')
    assert w3.publish().rows('themes') == 4
    with pytest.raises(LakeError, match='cannot be reopened'): lake.start_run('2016Q3', run_id='resume-me', resume=True)

    w4 = lake.start_run('2016Q3'); w4.write('themes', themes('2016Q3', 40, tag='crash'))   # interrupted: invisible
    assert lake.read('themes').num_rows == 9 and lake.quarters() == ['2016Q2', '2016Q3']

    # DuckDB over S3 (httpfs + iceberg loaded from the wheels, never downloaded) sees what read() sees
    for con in (lake.connect(), connect(root, endpoint_url=endpoint, catalog=cat)):
        assert con.sql('select count(*) from themes').fetchone()[0] == 9
        assert con.sql('select quarter, count(*) from themes group by 1 order by 1').fetchall() == [('2016Q2', 5), ('2016Q3', 4)]
        assert con.sql('select * from themes limit 0').columns == schema.THEMES.names
        assert con.sql('select count(*) from theme_contributions').fetchone()[0] == 4
        loaded = dict(con.sql("select extension_name, loaded from duckdb_extensions()").fetchall())
        assert loaded['httpfs'] and loaded['iceberg'] and loaded['avro']

    lake.gc(dry_run=False, min_age_s=0, keep_runs=1)
    assert lake.read('themes').num_rows == 9 and lake.read('theme_contributions').num_rows == 4


def test_from_config_env_endpoint(s3, monkeypatch):
    endpoint, root, cat = s3
    monkeypatch.setenv('AWS_ENDPOINT_URL', endpoint)
    lake = Lake.from_config(Config(lake=root, catalog=cat))
    assert lake.endpoint_url == endpoint
    w = lake.start_run('2016Q2')
    w.write('themes', [])
    w.publish()
    assert lake.read('themes', '2016Q2').num_rows == 0 and len(lake.runs()) == 1
    assert lake.cache_uri('embeddings') == f'{root}/_cache/embeddings'


@pytest.mark.timeout(900)
def test_sample_quarter_through_glue_reads_as_athena(s3, monkeypatch):
    "Glue holds one ICEBERG table per published table; its metadata_location (what Athena reads) gives DuckDB's rows."
    from pyiceberg.table import StaticTable
    from ftm.pipeline import run_quarter
    endpoint, root, cat = s3
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    cfg = load_config(env={}, lake=root, lake_endpoint_url=endpoint, quarter='2016Q2', source='sample',
                      **{'sample.n_firms': 6, 'executor.workers': 1, 'catalog.namespace': cat.namespace})
    res = run_quarter(cfg, progress=False)
    assert res.counts['themes'] > 0
    lake = Lake.from_config(cfg)
    con = lake.connect()
    glue = boto3.client('glue', endpoint_url=endpoint)
    tables = {t['Name']: t for t in glue.get_tables(DatabaseName=cat.namespace)['TableList']}
    published = set(lake.visible_run('2016Q2').tables) | {'runs'}
    assert published <= set(tables) and {'themes', 'topics', 'sentences', 'transcripts', 'theme_exposure'} <= published
    for name in sorted(published - {'runs'}):
        p = tables[name]['Parameters']
        assert p['table_type'].upper() == 'ICEBERG' and p['metadata_location'].startswith(f'{root}/{cat.namespace}/{name}/metadata/')
        comments = {c['Name']: c.get('Comment') for c in tables[name]['StorageDescriptor']['Columns']}
        docs = {f.name: f.metadata[b'doc'].decode() for f in schema.spec(name).schema if b'doc' in (f.metadata or {})}
        assert docs and all(comments.get(k) == v for k, v in docs.items()), name      # column docs reach Glue
        athena = StaticTable.from_metadata(p['metadata_location'], properties={
            's3.endpoint': endpoint, 's3.region': 'us-east-1', 's3.access-key-id': 'testing',
            's3.secret-access-key': 'testing'}).scan().to_arrow()
        key = list(schema.spec(name).key)
        duck = con.sql(f'select * from "{name}"').fetch_arrow_table()
        cols = schema.spec(name).schema.names
        a = athena.select(cols).cast(schema.spec(name).schema).sort_by([(k, 'ascending') for k in key])
        d = duck.select(cols).cast(schema.spec(name).schema).sort_by([(k, 'ascending') for k in key])
        assert a.num_rows == d.num_rows > 0 and a.equals(d), name
