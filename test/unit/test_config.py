import json
import os
import re
import tempfile
import unittest

from swift_s3_sync import config
from swift_s3_sync.config import (
    GLOBAL_KEYS, MAPPING_KEYS, REQUIRED, ConfigError, load_config,
    parse_config)

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
SAMPLE_PATH = os.path.join(ROOT, 'sync.json-sample')
DOCS_PATH = os.path.join(ROOT, 'docs', 'configuration.md')

SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY'
DROP = object()  # a mapping() override that removes the key


def mapping(**overrides):
    entry = {
        'account': 'AUTH_test',
        'container': 'photos',
        'aws_bucket': 'bucket',
        'aws_identity': 'AKIAEXAMPLE',
        'aws_secret': SECRET,
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not DROP}


def swift_mapping(**overrides):
    return mapping(**dict({'protocol': 'swift',
                           'aws_endpoint': 'https://swift.example.com/auth'},
                          **overrides))


def document(*mappings, **settings):
    doc = {'status_dir': '/var/lib/s3-sync', 'containers': list(mappings)}
    doc.update(settings)
    return {k: v for k, v in doc.items() if v is not DROP}


def parse(doc):
    return parse_config(json.dumps(doc))


class ConfigTestCase(unittest.TestCase):
    def error_of(self, doc):
        text = doc if isinstance(doc, str) else json.dumps(doc)
        with self.assertRaises(ConfigError) as caught:
            parse_config(text)
        return str(caught.exception)

    def assert_error(self, doc, message):
        self.assertEqual(self.error_of(doc), message)


class TestDefaults(ConfigTestCase):
    def test_global_defaults(self):
        conf = parse(document())
        self.assertEqual(conf.devices, '/srv/node')
        self.assertEqual(conf.swift_dir, '/etc/swift')
        self.assertEqual(conf.status_dir, '/var/lib/s3-sync')
        self.assertEqual(conf.items_chunk, 1000)
        self.assertEqual(conf.workers, 10)
        self.assertEqual(conf.poll_interval, 5)
        self.assertEqual(conf.verification_slack, 60)
        self.assertEqual(conf.swift_bind_ip, '0.0.0.0')
        self.assertIsNone(conf.swift_bind_port)
        self.assertIsNone(conf.internal_client_conf_path)
        self.assertIsNone(conf.log_file)
        self.assertEqual(conf.log_level, 'info')
        self.assertIsNone(conf.log_statsd_host)
        self.assertEqual(conf.log_statsd_port, 8125)
        self.assertEqual(conf.log_statsd_metric_prefix, '')
        self.assertEqual(conf.retry_initial_delay, 5)
        self.assertEqual(conf.retry_max_delay, 300)
        self.assertIsNone(conf.http_proxy)
        self.assertIsNone(conf.https_proxy)
        self.assertEqual(conf.mappings, [])
        self.assertEqual(conf.source, 'sync.json')

    def test_every_global_default_is_an_attribute(self):
        conf = parse(document())
        for key, spec in GLOBAL_KEYS.items():
            if spec.default is not REQUIRED:
                self.assertEqual(getattr(conf, key), spec.default, key)

    def test_mapping_defaults(self):
        m = parse(document(mapping())).mappings[0]
        self.assertEqual(m.protocol, 's3')
        self.assertIsNone(m.aws_endpoint)
        self.assertIsNone(m.aws_session_token)
        self.assertEqual(m.aws_region, 'us-east-1')
        self.assertIsNone(m.custom_prefix)
        self.assertEqual(m.copy_after, 0)
        self.assertIs(m.retain_local, True)
        self.assertIs(m.retain_local_segments, False)
        self.assertIs(m.propagate_delete, True)
        self.assertIsNone(m.exclude_pattern)
        self.assertIsNone(m.exclude_regex)
        self.assertIsNone(m.selection_criteria)
        self.assertIs(m.encryption, True)
        self.assertIsNone(m.server_side_encryption)
        self.assertEqual(m.auth_type, 'swift')
        self.assertIs(m.sync_symlinks, True)
        self.assertIs(m.merge_namespaces, False)
        self.assertEqual(m.min_segment_size, 0)

    def test_every_mapping_default_is_an_attribute(self):
        # Without credentials: an s3 mapping may leave them out (boto3's
        # default chain), so their default (null) shows too.
        m = parse(document(mapping(aws_identity=DROP,
                                   aws_secret=DROP))).mappings[0]
        for key, spec in MAPPING_KEYS.items():
            if spec.default is not REQUIRED:
                self.assertEqual(getattr(m, key), spec.default, key)
        self.assertIsNone(m.aws_identity)
        self.assertIsNone(m.aws_secret)

    def test_given_values_are_kept(self):
        conf = parse(document(mapping(copy_after=60, aws_region='eu-west-1'),
                              workers=3, poll_interval=0.5))
        self.assertEqual(conf.workers, 3)
        self.assertEqual(conf.poll_interval, 0.5)
        self.assertEqual(conf.mappings[0].copy_after, 60)
        self.assertEqual(conf.mappings[0].aws_region, 'eu-west-1')

    def test_log_level_any_case_stored_lower(self):
        self.assertEqual(parse(document(log_level='WARNING')).log_level,
                         'warning')

    def test_custom_prefix_slashes_stripped(self):
        m = parse(document(mapping(custom_prefix='/a/b/'))).mappings[0]
        self.assertEqual(m.custom_prefix, 'a/b')
        m = parse(document(mapping(custom_prefix=''))).mappings[0]
        self.assertEqual(m.custom_prefix, '')

    def test_unicode_account_and_container(self):
        m = parse(document(mapping(account='AUTH_tést',
                                   container='fotos-ñ'))).mappings[0]
        self.assertEqual(m.label, 'containers[0] (AUTH_tést/fotos-ñ)')

    def test_comment_keys_ignored(self):
        doc = ('{"//": "top", "// more": 1, "status_dir": "/s", '
               '"containers": [{"//": "a", "//": "b", "account": "A", '
               '"container": "c", "aws_bucket": "b", "aws_identity": "i", '
               '"aws_secret": "s"}]}')
        conf = parse_config(doc)
        self.assertEqual(len(conf.mappings), 1)
        self.assertFalse(hasattr(conf, '//'))


class TestFileErrors(ConfigTestCase):
    def test_json_syntax_error_line_and_column(self):
        text = ('{\n    "status_dir": "/s",\n    "containers": []\n'
                '    "x": 1\n}')
        self.assert_error(
            text, "sync.json: invalid JSON at line 4, column 5: "
                  "Expecting ',' delimiter")

    def test_top_level_not_object(self):
        self.assert_error(
            [], 'sync.json: the top level must be a JSON object, got a list')

    def test_source_names_the_file(self):
        with self.assertRaises(ConfigError) as caught:
            parse_config('{"containers": []}', source='/etc/s3/sync.json')
        self.assertEqual(str(caught.exception),
                         "/etc/s3/sync.json: missing required key "
                         "'status_dir'")

    def test_config_error_is_value_error(self):
        self.assertTrue(issubclass(ConfigError, ValueError))

    def test_load_config_reads_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'sync.json')
            with open(path, 'w', encoding='utf-8') as f:
                f.write('\ufeff' + json.dumps(document(mapping())))
            conf = load_config(path)
        self.assertEqual(conf.source, path)
        self.assertEqual(len(conf.mappings), 1)

    def test_load_config_names_path_in_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'sync.json')
            with open(path, 'w') as f:
                json.dump(document(workers=0), f)
            with self.assertRaises(ConfigError) as caught:
                load_config(path)
        self.assertEqual(str(caught.exception),
                         f"{path}: 'workers' must be an integer >= 1, got 0")

    def test_load_config_missing_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'nope.json')
            with self.assertRaises(ConfigError) as caught:
                load_config(path)
        self.assertEqual(str(caught.exception),
                         f'{path}: cannot read: No such file or directory')

    def test_load_config_not_utf8(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'sync.json')
            with open(path, 'wb') as f:
                f.write(b'{"status_dir": "\xff"}')
            with self.assertRaises(ConfigError) as caught:
                load_config(path)
        self.assertTrue(str(caught.exception).startswith(
            f'{path}: not UTF-8 text'))


class TestGlobalErrors(ConfigTestCase):
    def test_missing_required(self):
        self.assert_error(document(status_dir=DROP),
                          "sync.json: missing required key 'status_dir'")
        self.assert_error(document(containers=DROP),
                          "sync.json: missing required key 'containers'")

    def test_unknown_key_with_suggestion(self):
        self.assert_error(
            document(pol_interval=3),
            "sync.json: unknown key 'pol_interval' "
            "(did you mean 'poll_interval'?)")

    def test_unknown_key_without_suggestion(self):
        self.assert_error(document(zzz=1), "sync.json: unknown key 'zzz'")

    def test_mapping_key_at_top_level(self):
        self.assert_error(
            document(merge_namespaces=True),
            "sync.json: unknown key 'merge_namespaces' (a mapping key; it "
            "belongs in an object of 'containers')")

    def test_duplicate_key(self):
        text = '{"status_dir": "/a", "status_dir": "/b", "containers": []}'
        self.assert_error(text,
                          "sync.json: key 'status_dir' is given twice")

    def test_type_errors(self):
        cases = [
            ({'containers': {}},
             "'containers' must be a list of mapping objects, got an object"),
            ({'status_dir': ''},
             "'status_dir' must be a non-empty string, got \"\""),
            ({'devices': 5}, "'devices' must be a non-empty string, got 5"),
            ({'items_chunk': 0},
             "'items_chunk' must be an integer >= 1, got 0"),
            ({'workers': True},
             "'workers' must be an integer >= 1, got true"),
            ({'workers': 2.5},
             "'workers' must be an integer >= 1, got 2.5"),
            ({'poll_interval': 0},
             "'poll_interval' must be a number > 0, got 0"),
            ({'poll_interval': '5'},
             "'poll_interval' must be a number > 0, got \"5\""),
            ({'verification_slack': -1},
             "'verification_slack' must be a number >= 0, got -1"),
            ({'swift_bind_ip': 'localhost'},
             "'swift_bind_ip' must be an IP address, got \"localhost\""),
            ({'swift_bind_port': 70000},
             "'swift_bind_port' must be an integer from 1 to 65535 or null, "
             "got 70000"),
            ({'log_level': 'loud'},
             "'log_level' must be one of \"debug\", \"info\", \"warning\", "
             "\"error\", got \"loud\""),
            ({'log_statsd_port': None},
             "'log_statsd_port' must be an integer from 1 to 65535, "
             "got null"),
            ({'log_file': False},
             "'log_file' must be a string or null, got false"),
            ({'retry_initial_delay': -5},
             "'retry_initial_delay' must be a number > 0, got -5"),
        ]
        for settings, message in cases:
            with self.subTest(settings=settings):
                self.assert_error(document(**settings),
                                  'sync.json: ' + message)

    def test_nan_and_infinity_refused(self):
        text = '{"status_dir": "/s", "containers": [], "poll_interval": NaN}'
        self.assert_error(
            text, "sync.json: 'poll_interval' must be a number > 0, got NaN")
        text = ('{"status_dir": "/s", "containers": [], '
                '"verification_slack": Infinity}')
        self.assert_error(
            text, "sync.json: 'verification_slack' must be a number >= 0, "
                  "got Infinity")

    def test_retry_delays_ordered(self):
        self.assert_error(
            document(retry_initial_delay=10, retry_max_delay=5),
            "sync.json: 'retry_max_delay' must be >= 'retry_initial_delay'")
        conf = parse(document(retry_initial_delay=10, retry_max_delay=10))
        self.assertEqual(conf.retry_max_delay, 10)


class TestMappingErrors(ConfigTestCase):
    def assert_mapping_error(self, entry, message, index=0):
        entries = [mapping(container=f'other{i}') for i in range(index)]
        self.assert_error(document(*entries, entry), 'sync.json: ' + message)

    def test_type_error_names_key_and_mapping(self):
        self.assert_mapping_error(
            mapping(copy_after='abc'),
            "containers[2] (AUTH_test/photos): 'copy_after' must be an "
            "integer >= 0, got \"abc\"", index=2)

    def test_bool_is_not_an_integer(self):
        self.assert_mapping_error(
            mapping(copy_after=True),
            "containers[0] (AUTH_test/photos): 'copy_after' must be an "
            "integer >= 0, got true")

    def test_booleans_must_be_json_booleans(self):
        for value, shown in (('yes', '"yes"'), (1, '1'), (None, 'null')):
            with self.subTest(value=value):
                self.assert_mapping_error(
                    mapping(retain_local=value),
                    "containers[0] (AUTH_test/photos): 'retain_local' must "
                    f"be true or false, got {shown}")

    def test_missing_required_key(self):
        self.assert_mapping_error(
            mapping(container='/*', aws_bucket=DROP),
            "containers[1] (AUTH_test/*): missing required key 'aws_bucket'",
            index=1)

    def test_unknown_key_with_suggestion(self):
        self.assert_mapping_error(
            mapping(copy_afer=5),
            "containers[0] (AUTH_test/photos): unknown key 'copy_afer' "
            "(did you mean 'copy_after'?)")

    def test_global_key_in_mapping(self):
        self.assert_mapping_error(
            mapping(items_chunk=5),
            "containers[0] (AUTH_test/photos): unknown key 'items_chunk' "
            "(a global key; it belongs at the top level)")

    def test_duplicate_key_in_mapping(self):
        text = ('{"status_dir": "/s", "containers": [{"account": "A", '
                '"container": "c", "aws_bucket": "b", "aws_bucket": "b2", '
                '"aws_identity": "i", "aws_secret": "s"}]}')
        self.assert_error(
            text, "sync.json: containers[0] (A/c): key 'aws_bucket' is "
                  "given twice")

    def test_mapping_must_be_object(self):
        self.assert_mapping_error(
            ['AUTH_test', 'photos'],
            'containers[0]: must be an object, got a list')

    def test_label_without_account(self):
        self.assert_mapping_error(
            mapping(account=DROP),
            "containers[0]: missing required key 'account'")

    def test_account_and_container_names(self):
        self.assert_mapping_error(
            mapping(account=''),
            "containers[0] (/photos): 'account' must be a non-empty string "
            "without \"/\", got \"\"")
        self.assert_mapping_error(
            mapping(container='a/b'),
            "containers[0] (AUTH_test/a/b): 'container' must be a container "
            "name without \"/\", or \"/*\" for every container of the "
            "account, got \"a/b\"")

    def test_protocol(self):
        self.assert_mapping_error(
            mapping(protocol='S3'),
            "containers[0] (AUTH_test/photos): 'protocol' must be one of "
            "\"s3\", \"swift\", got \"S3\"")

    def test_endpoint_must_be_http_url(self):
        for endpoint in ('ftp://example.com', 's3.example.com', 'http://'):
            with self.subTest(endpoint=endpoint):
                self.assert_mapping_error(
                    mapping(aws_endpoint=endpoint),
                    "containers[0] (AUTH_test/photos): 'aws_endpoint' must "
                    "be an http:// or https:// URL or null, got "
                    f"\"{endpoint}\"")

    def test_invalid_regex(self):
        self.assert_mapping_error(
            mapping(exclude_pattern='(tmp'),
            "containers[0] (AUTH_test/photos): 'exclude_pattern' \"(tmp\" is "
            "not a valid regular expression: missing ), unterminated "
            "subpattern at position 0")

    def test_regex_must_be_string(self):
        self.assert_mapping_error(
            mapping(exclude_pattern=['tmp']),
            "containers[0] (AUTH_test/photos): 'exclude_pattern' must be a "
            "regular expression string or null, got a list")

    def test_invalid_selection_criteria(self):
        self.assert_mapping_error(
            mapping(selection_criteria={'AND': [{'a': '1'},
                                                {'a': '1', 'b': '2'}]}),
            "containers[0] (AUTH_test/photos): selection_criteria.AND[1]: "
            "must have exactly one key, got 2")

    def test_server_side_encryption_values(self):
        self.assert_mapping_error(
            mapping(server_side_encryption='aes256'),
            "containers[0] (AUTH_test/photos): 'server_side_encryption' "
            "must be one of \"AES256\", \"aws:kms\" or null, got \"aes256\"")

    def test_auth_type_values(self):
        self.assert_mapping_error(
            swift_mapping(auth_type='keystone'),
            "containers[0] (AUTH_test/photos): 'auth_type' must be one of "
            "\"swift\", \"keystone_v3\", got \"keystone\"")


class TestCrossKeyRules(ConfigTestCase):
    def assert_refused(self, entry, message):
        self.assert_error(document(entry),
                          'sync.json: containers[0] (AUTH_test/photos): '
                          + message)

    def test_archive_must_not_propagate_delete(self):
        self.assert_refused(
            mapping(retain_local=False),
            "'retain_local': false needs 'propagate_delete': false (the "
            "archive's own local delete would otherwise delete the remote "
            "copy)")
        m = parse(document(mapping(retain_local=False,
                                   propagate_delete=False))).mappings[0]
        self.assertIs(m.retain_local, False)

    def test_swift_needs_endpoint(self):
        self.assert_refused(
            swift_mapping(aws_endpoint=None),
            "protocol 'swift' needs 'aws_endpoint' (the remote cluster's "
            "auth URL)")

    def test_s3_only_keys(self):
        for key, value in (('aws_session_token', 'tok'),
                           ('server_side_encryption', 'AES256'),
                           ('storage_class', 'GLACIER')):
            with self.subTest(key=key):
                self.assert_refused(swift_mapping(**{key: value}),
                                    f"'{key}' is only for protocol 's3'")
        parse(document(mapping(aws_session_token='tok',
                               server_side_encryption='AES256',
                               storage_class='GLACIER')))

    def test_kms_key_needs_kms(self):
        self.assert_refused(
            mapping(sse_kms_key_id='key', server_side_encryption='AES256'),
            "'sse_kms_key_id' needs 'server_side_encryption': \"aws:kms\"")
        parse(document(mapping(sse_kms_key_id='key',
                               server_side_encryption='aws:kms')))

    def test_acl_needs_metadata(self):
        self.assert_refused(
            swift_mapping(sync_container_acl=True),
            "'sync_container_acl': true needs 'sync_container_metadata': "
            "true")
        parse(document(swift_mapping(sync_container_acl=True,
                                     sync_container_metadata=True)))

    def test_min_segment_size_needs_convert_dlo(self):
        self.assert_refused(
            swift_mapping(min_segment_size=1024),
            "'min_segment_size' above 0 needs 'convert_dlo': true")
        parse(document(swift_mapping(min_segment_size=1024,
                                     convert_dlo=True)))

    def test_per_account_s3_custom_prefix_refused(self):
        for prefix in ('', 'clone'):
            with self.subTest(prefix=prefix):
                self.assert_error(
                    document(mapping(container='/*', custom_prefix=prefix)),
                    "sync.json: containers[0] (AUTH_test/*): "
                    "'custom_prefix' cannot be used with container \"/*\" "
                    "and protocol 's3' (every container would share one key "
                    "space)")
        parse(document(mapping(container='/*')))
        parse(document(swift_mapping(container='/*', custom_prefix='p')))

    def test_keystone_needs_names(self):
        self.assert_refused(
            swift_mapping(auth_type='keystone_v3', project_name='p'),
            "'auth_type': \"keystone_v3\" needs 'project_domain_name', "
            "'user_domain_name'")
        parse(document(swift_mapping(auth_type='keystone_v3',
                                     project_name='p',
                                     project_domain_name='Default',
                                     user_domain_name='Default')))

    def test_duplicate_mappings(self):
        self.assert_error(
            document(mapping(), mapping(container='other'),
                     mapping(copy_after=60)),
            'sync.json: containers[2] (AUTH_test/photos) duplicates '
            'containers[0]: same account, container, protocol, '
            'aws_endpoint, aws_bucket, custom_prefix')

    def test_duplicate_after_prefix_normalized(self):
        message = self.error_of(document(mapping(custom_prefix='/p/'),
                                         mapping(custom_prefix='p')))
        self.assertIn('containers[1] (AUTH_test/photos) duplicates '
                      'containers[0]', message)

    def test_several_destinations_for_one_container(self):
        conf = parse(document(
            mapping(),
            mapping(aws_bucket='other'),
            mapping(custom_prefix=''),
            mapping(aws_endpoint='https://s3.example.com'),
            swift_mapping(aws_bucket='bucket')))
        self.assertEqual(len(conf.mappings), 5)


class TestSecrets(ConfigTestCase):
    def assert_secret_hidden(self, doc, secret=SECRET):
        message = self.error_of(doc)
        self.assertNotIn(secret, message)
        return message

    def test_wrong_typed_secret_not_echoed(self):
        message = self.assert_secret_hidden(
            document(mapping(aws_secret=[SECRET])))
        self.assertEqual(message, "sync.json: containers[0] "
                                  "(AUTH_test/photos): 'aws_secret' must be "
                                  "a non-empty string")

    def test_wrong_typed_token_not_echoed(self):
        message = self.assert_secret_hidden(
            document(mapping(aws_session_token=987654321)), '987654321')
        self.assertIn("'aws_session_token' must be a string or null",
                      message)

    def test_secret_not_in_other_errors(self):
        self.assert_secret_hidden(document(mapping(copy_after='abc')))
        self.assert_secret_hidden(document(mapping(retain_local=False)))
        self.assert_secret_hidden(document(mapping(), mapping()))
        self.assert_secret_hidden(document(swift_mapping(
            aws_session_token=SECRET)))

    def test_unknown_secret_like_key_not_echoed(self):
        self.assert_secret_hidden(document(mapping(swift_password=SECRET)))

    def test_misplaced_mapping_not_echoed(self):
        # containers given as one object rather than a list of them
        message = self.assert_secret_hidden(document(containers=mapping()))
        self.assertIn("'containers' must be a list", message)

    def test_repr_and_redacted_mask_secrets(self):
        conf = parse(document(mapping(aws_session_token=SECRET + 'tok')))
        m = conf.mappings[0]
        self.assertNotIn(SECRET, repr(m))
        self.assertNotIn(SECRET, str(m))
        self.assertNotIn(SECRET, repr(conf))
        self.assertEqual(m.redacted()['aws_secret'], '***')
        self.assertEqual(m.redacted()['aws_session_token'], '***')
        self.assertEqual(m.redacted()['aws_identity'], 'AKIAEXAMPLE')
        self.assertIn("'aws_bucket': 'bucket'", repr(m))
        self.assertEqual(m.aws_secret, SECRET)

    def test_policy_holds_no_secret(self):
        m = parse(document(mapping())).mappings[0]
        self.assertNotIn(SECRET, json.dumps(m.policy()))


class TestMappingObject(unittest.TestCase):
    def test_index_label_per_account(self):
        conf = parse(document(mapping(), mapping(container='/*')))
        first, second = conf.mappings
        self.assertEqual((first.index, second.index), (0, 1))
        self.assertEqual(first.label, 'containers[0] (AUTH_test/photos)')
        self.assertEqual(second.label, 'containers[1] (AUTH_test/*)')
        self.assertFalse(first.per_account)
        self.assertTrue(second.per_account)

    def test_exclude_regex_compiled(self):
        m = parse(document(mapping(exclude_pattern=r'\.tmp$'))).mappings[0]
        self.assertTrue(m.exclude_regex.search('a.tmp'))
        self.assertIsNone(m.exclude_regex.search('a.jpg'))

    def test_read_only(self):
        conf = parse(document(mapping()))
        m = conf.mappings[0]
        with self.assertRaises(AttributeError):
            m.aws_bucket = 'other'
        with self.assertRaises(AttributeError):
            m.index = 3
        with self.assertRaises(AttributeError):
            del m.copy_after
        with self.assertRaises(AttributeError):
            conf.workers = 1
        self.assertEqual(m.aws_bucket, 'bucket')

    def test_unknown_attribute(self):
        m = parse(document(mapping())).mappings[0]
        with self.assertRaises(AttributeError):
            m.aws_buckt

    def test_containers_is_mappings(self):
        conf = parse(document(mapping()))
        self.assertIs(conf.containers, conf.mappings)

    def test_mappings_for(self):
        conf = parse(document(
            mapping(),
            mapping(aws_bucket='second'),
            mapping(container='/*', aws_bucket='all'),
            mapping(container='videos'),
            mapping(account='AUTH_other')))
        self.assertEqual([m.index for m in
                          conf.mappings_for('AUTH_test', 'photos')],
                         [0, 1, 2])
        self.assertEqual([m.index for m in
                          conf.mappings_for('AUTH_test', 'music')], [2])
        self.assertEqual([m.index for m in
                          conf.mappings_for('AUTH_other', 'photos')], [4])
        self.assertEqual(conf.mappings_for('AUTH_none', 'photos'), [])

    def test_policy_keys(self):
        m = parse(document(mapping())).mappings[0]
        self.assertEqual(set(m.policy()), {
            'protocol', 'aws_endpoint', 'aws_bucket', 'custom_prefix',
            'copy_after', 'retain_local', 'propagate_delete',
            'exclude_pattern', 'selection_criteria', 'sync_symlinks'})

    def policy_hash_of(self, entry, **settings):
        return parse(document(entry, **settings)).mappings[0].policy_hash()

    def test_policy_hash_changes_with_policy(self):
        base = self.policy_hash_of(mapping())
        self.assertRegex(base, '^[0-9a-f]{64}$')
        self.assertEqual(base, self.policy_hash_of(mapping()))
        for change in ({'aws_bucket': 'other'}, {'copy_after': 60},
                       {'exclude_pattern': 'x'}, {'sync_symlinks': False},
                       {'selection_criteria': {'a': 'b'}}):
            with self.subTest(change=change):
                self.assertNotEqual(base,
                                    self.policy_hash_of(mapping(**change)))

    def test_policy_hash_ignores_other_settings(self):
        base = self.policy_hash_of(mapping())
        self.assertEqual(base, self.policy_hash_of(mapping(), workers=50))
        self.assertEqual(base, self.policy_hash_of(
            mapping(aws_secret='rotated', aws_identity='new')))
        self.assertEqual(base, self.policy_hash_of(
            mapping(selection_criteria=None)))

    def test_signature(self):
        def signature(**overrides):
            return parse(document(mapping(**overrides))).mappings[0] \
                .signature()
        base = signature()
        self.assertRegex(base, '^[0-9a-f]{16}$')
        self.assertEqual(base, signature(copy_after=60, aws_secret='x'))
        self.assertNotEqual(base, signature(aws_bucket='other'))
        self.assertNotEqual(base, signature(custom_prefix=''))
        self.assertNotEqual(base, signature(container='other'))

    def test_signature_is_stable_across_runs(self):
        m = parse(document(mapping())).mappings[0]
        # A fixed value: progress files are named by it, so it must never
        # depend on hash randomization or key order.
        self.assertEqual(m.signature(), '60955a5ab6d67b31')

    def test_is_aws(self):
        def endpoint(url):
            return parse(document(mapping(aws_endpoint=url))).mappings[0]
        self.assertTrue(endpoint(None).is_aws())
        self.assertTrue(endpoint('https://s3.eu-west-1.amazonaws.com')
                        .is_aws())
        self.assertFalse(endpoint('https://s3.example.com').is_aws())
        self.assertFalse(endpoint('https://notamazonaws.com').is_aws())
        self.assertTrue(endpoint('https://storage.googleapis.com')
                        .is_google())
        self.assertFalse(endpoint(None).is_google())

    def test_sse(self):
        def sse(**overrides):
            return parse(document(mapping(**overrides))).mappings[0].sse()
        self.assertEqual(sse(), 'AES256')
        self.assertIsNone(sse(encryption=False))
        self.assertIsNone(sse(aws_endpoint='https://s3.example.com'))
        self.assertEqual(sse(aws_endpoint='https://s3.example.com',
                             server_side_encryption='AES256'), 'AES256')
        self.assertEqual(sse(encryption=False,
                             server_side_encryption='aws:kms'), 'aws:kms')
        self.assertIsNone(parse(document(swift_mapping())).mappings[0].sse())

    def test_matches(self):
        conf = parse(document(
            mapping(),
            mapping(aws_bucket='b2',
                    selection_criteria={'x-object-meta-tag': 'BÁR'})))
        everything, selected = conf.mappings
        self.assertTrue(everything.matches({}))
        self.assertTrue(selected.matches({'X-Object-Meta-Tag': 'bár'}))
        self.assertFalse(selected.matches({'X-Object-Meta-Tag': 'bar'}))
        self.assertFalse(selected.matches({}))


class TestSampleAndDocs(unittest.TestCase):
    def test_sample_loads(self):
        conf = load_config(SAMPLE_PATH)
        self.assertGreaterEqual(len(conf.mappings), 5)

    def test_sample_shows_every_key(self):
        with open(SAMPLE_PATH) as f:
            sample = json.load(f)
        self.assertEqual(set(GLOBAL_KEYS),
                         {k for k in sample if not k.startswith('//')})
        used = set().union(*(entry.keys() for entry in sample['containers']))
        self.assertEqual(set(MAPPING_KEYS),
                         {k for k in used if not k.startswith('//')})

    def test_sample_shows_each_kind_of_mapping(self):
        mappings = load_config(SAMPLE_PATH).mappings
        self.assertTrue(any(m.protocol == 's3' and m.is_aws()
                            and m.retain_local for m in mappings))
        self.assertTrue(any(not m.retain_local and m.copy_after
                            and m.selection_criteria for m in mappings))
        self.assertTrue(any(m.per_account and m.protocol == 's3'
                            and m.aws_endpoint for m in mappings))
        self.assertTrue(any(m.protocol == 'swift' and m.storage_policy
                            for m in mappings))
        self.assertTrue(any(m.merge_namespaces and m.restore_object
                            for m in mappings))

    def test_docs_mention_every_key(self):
        with open(DOCS_PATH, encoding='utf-8') as f:
            docs = f.read()
        for key in list(GLOBAL_KEYS) + list(MAPPING_KEYS):
            with self.subTest(key=key):
                self.assertIn(f'| `{key}` |', docs)

    def test_module_docstring_mentions_every_key(self):
        for key in list(GLOBAL_KEYS) + list(MAPPING_KEYS):
            with self.subTest(key=key):
                self.assertRegex(config.__doc__, rf'\b{re.escape(key)}\b')


if __name__ == '__main__':
    unittest.main()
