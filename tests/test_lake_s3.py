"""The lake on S3: the same write/publish/read/connect flow as the notebook, against a real S3 API (moto's server).

DuckDB reads the lake through its httpfs extension, loaded offline from the duckdb-ext-httpfs wheel."""
import socket
import pytest
import pyarrow.fs as pafs
from ftm.lake import schema
from ftm.config import Config
from ftm.lake import Lake, LakeError, connect

BUCKET = 'ftm-lake-test'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def endpoint():
    from moto.server import ThreadedMotoServer
    port = _free_port()
    srv = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    srv.start()
    yield f'http://127.0.0.1:{port}'
    srv.stop()


@pytest.fixture
def s3(endpoint, monkeypatch, request):
    "A fresh bucket prefix on the moto server, with test credentials in the environment."
    for k in ('AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    monkeypatch.setenv('AWS_REGION', 'us-east-1')
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    import boto3
    c = boto3.client('s3', endpoint_url=endpoint)
    if BUCKET not in [b['Name'] for b in c.list_buckets().get('Buckets', [])]: c.create_bucket(Bucket=BUCKET)
    return endpoint, f's3://{BUCKET}/{request.node.name}'


def themes(q, n, tag='a'):
    return [dict(theme_id=f'theme_{q}_{i:03d}', quarter=q, name=f'{tag}{i}', description=None, keywords=['x', 'y'],
                 n_topics=2, n_firms=2, n_sentences=10, naming_method='keywords', naming_model=None,
                 prompt_version=None) for i in range(n)]


def contribs(q, n):
    return [dict(theme_id=f'theme_{q}_000', topic_id=f'{q}_F{i}_000', firm_id=f'F{i}', quarter=q, similarity=0.5,
                 n_sentences=3) for i in range(n)]


def test_s3_flow(s3):
    endpoint, root = s3
    lake = Lake(root, endpoint_url=endpoint)
    assert isinstance(lake.fs, pafs.S3FileSystem) and lake.uri == root and lake.root == root[5:]

    # an unpublished run is invisible
    w1 = lake.start_run('2016Q2', kind='themes')
    p = w1.write('themes', themes('2016Q2', 3))
    assert p == f"{lake.root}/themes/quarter=2016Q2/run={w1.run_id}/part-00000.parquet"
    w1.write('theme_contributions', contribs('2016Q2', 4), part='batch-0')
    assert lake.runs() == [] and lake.read('themes').num_rows == 0
    r1 = w1.publish(meta={'n': 1})
    assert r1.rows('themes') == 3 and lake.read('themes', '2016Q2').num_rows == 3
    assert lake.read('themes').schema == schema.THEMES

    # a second run of the quarter replaces the first in reads; the first stays readable by id
    w2 = lake.start_run('2016Q2', kind='themes')
    w2.write('themes', themes('2016Q2', 5, tag='b'))
    w2.publish()
    assert sorted(lake.read('themes', '2016Q2')['name'].to_pylist()) == [f'b{i}' for i in range(5)]
    assert lake.read('themes', run_id=w1.run_id).num_rows == 3
    assert lake.latest_run('2016Q2', 'theme_contributions').run_id == w1.run_id   # w2 did not write it

    # resume an unpublished run: parts and checkpoints survive the writer
    w3 = lake.start_run('2016Q3', run_id='resume-me', kind='themes')
    w3.write('themes', themes('2016Q3', 4)[:2], part='batch-0000')
    w3.set_checkpoint('batch-0000', {'done': True})
    w3 = lake.start_run('2016Q3', run_id='resume-me', kind='themes', resume=True)
    assert w3.checkpoints() == {'batch-0000': {'done': True}} and list(w3.parts()) == ['themes']
    w3.write('themes', themes('2016Q3', 4)[:2], part='batch-0000')
    w3.write('themes', themes('2016Q3', 4)[2:], part='batch-0001')
    assert w3.publish().rows('themes') == 4
    with pytest.raises(LakeError, match='cannot be reopened'): lake.start_run('2016Q3', run_id='resume-me', resume=True)

    # an interrupted run stays invisible
    w4 = lake.start_run('2016Q3')
    w4.write('themes', themes('2016Q3', 40, tag='crash'))
    assert lake.read('themes').num_rows == 9 and lake.quarters() == ['2016Q2', '2016Q3']

    # DuckDB over S3 (httpfs loaded from the wheel, never downloaded) sees what read() sees
    for con in (lake.connect(), connect(root, endpoint_url=endpoint)):
        assert con.sql('select count(*) from themes').fetchone()[0] == 9
        assert con.sql('select quarter, count(*) from themes group by 1 order by 1').fetchall() == [('2016Q2', 5), ('2016Q3', 4)]
        assert con.sql('select * from themes limit 0').columns == schema.THEMES.names
        assert con.sql('select count(*) from theme_contributions').fetchone()[0] == 4
        assert con.sql("select count(*) from lake_runs where latest").fetchone()[0] == 3
        ext = con.sql("select loaded from duckdb_extensions() where extension_name = 'httpfs'").fetchone()[0]
        assert ext is True

    # gc lists the superseded first run's files but leaves what readers see
    g = lake.gc(min_age_s=0, superseded=False)
    assert any(w4.run_id in x for x in g) and not any(f'run={w2.run_id}' in x for x in g)
    lake.gc(dry_run=False, min_age_s=0)
    assert lake.read('themes').num_rows == 9


def test_from_config_env_endpoint(s3, monkeypatch):
    endpoint, root = s3
    monkeypatch.setenv('AWS_ENDPOINT_URL', endpoint)
    lake = Lake.from_config(Config(lake=root))
    assert lake.endpoint_url == endpoint
    w = lake.start_run('2016Q2')
    w.write('themes', [])
    w.publish()
    assert lake.read('themes', '2016Q2').num_rows == 0 and len(lake.runs()) == 1
    con = lake.connect()   # keep a reference: a DuckDB relation does not keep its connection alive
    assert con.sql('select count(*) from themes').fetchone()[0] == 0
    assert lake.cache_uri('embeddings') == f'{root}/_cache/embeddings'
