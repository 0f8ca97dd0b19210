import unittest

from swift_s3_sync.selection import SelectionError, matches, validate


class TestValidate(unittest.TestCase):
    def assert_invalid(self, criteria, message):
        with self.assertRaises(SelectionError) as caught:
            validate(criteria, 'selection_criteria')
        self.assertEqual(str(caught.exception), message)

    def test_valid_criteria(self):
        for criteria in (
                None,
                {},
                {'x-object-meta-colour': 'blue'},
                {'NOT': {'content-type': 'text/plain'}},
                {'AND': [{'a': '1'}]},
                {'OR': [{'a': '1'}, {'NOT': {'AND': [{'b': ''},
                                                     {'c': 'bár'}]}}]}):
            with self.subTest(criteria=criteria):
                validate(criteria)

    def test_top_level_must_be_object(self):
        self.assert_invalid(
            ['a'], 'selection_criteria: must be an object or null, got a list')

    def test_more_than_one_key(self):
        self.assert_invalid(
            {'a': '1', 'b': '2'},
            'selection_criteria: must have exactly one key, got 2')

    def test_nested_path_is_named(self):
        self.assert_invalid(
            {'AND': [{'a': '1'}, {'a': '1', 'b': '2'}]},
            'selection_criteria.AND[1]: must have exactly one key, got 2')

    def test_nested_empty_condition(self):
        self.assert_invalid(
            {'OR': [{}]},
            'selection_criteria.OR[0]: must have exactly one key, got 0')

    def test_operator_list_must_be_non_empty_list(self):
        self.assert_invalid(
            {'AND': []},
            'selection_criteria.AND: must be a non-empty list of '
            'conditions, got an empty list')
        self.assert_invalid(
            {'OR': {'a': '1'}},
            'selection_criteria.OR: must be a non-empty list of '
            'conditions, got an object')

    def test_not_takes_one_condition(self):
        self.assert_invalid(
            {'NOT': [{'a': '1'}]},
            'selection_criteria.NOT: must be an object, got a list')

    def test_condition_must_be_object(self):
        self.assert_invalid(
            {'AND': [{'a': '1'}, 'b']},
            'selection_criteria.AND[1]: must be an object, got a string')

    def test_header_value_must_be_string(self):
        self.assert_invalid(
            {'NOT': {'x-object-meta-n': 5}},
            'selection_criteria.NOT.x-object-meta-n: header value must be a '
            'string, got a number')

    def test_lower_case_operator_gets_a_hint(self):
        self.assert_invalid(
            {'and': [{'a': '1'}]},
            'selection_criteria.and: header value must be a string, got a '
            'list (operators are spelled AND, OR, NOT in capitals)')

    def test_empty_header_name(self):
        self.assert_invalid(
            {'': 'x'}, 'selection_criteria: header name must not be empty')

    def test_where_prefixes_messages(self):
        with self.assertRaises(SelectionError) as caught:
            validate({'AND': []}, 'criteria')
        self.assertTrue(str(caught.exception).startswith('criteria.AND: '))

    def test_selection_error_is_a_value_error(self):
        self.assertTrue(issubclass(SelectionError, ValueError))


class TestMatches(unittest.TestCase):
    headers = {
        'Content-Type': 'image/jpeg',
        'X-Object-Meta-Colour': 'Blue',
        'X-Object-Meta-Name': 'BÁR',
    }

    def test_no_criteria_matches_everything(self):
        self.assertTrue(matches(None, self.headers))
        self.assertTrue(matches({}, {}))

    def test_header_equality(self):
        self.assertTrue(matches({'content-type': 'image/jpeg'}, self.headers))
        self.assertFalse(matches({'content-type': 'image/png'}, self.headers))

    def test_header_name_any_case(self):
        self.assertTrue(matches({'X-OBJECT-META-COLOUR': 'blue'},
                                self.headers))
        self.assertTrue(matches({'x-object-meta-colour': 'blue'},
                                {'x-object-meta-colour': 'blue'}))

    def test_value_any_case_unicode(self):
        self.assertTrue(matches({'x-object-meta-name': 'bár'}, self.headers))
        self.assertFalse(matches({'x-object-meta-name': 'bar'}, self.headers))

    def test_value_case_folding_beyond_lower(self):
        # 'ß'.lower() is 'ß' but it folds to 'ss'.
        self.assertTrue(matches({'x-object-meta-street': 'STRASSE'},
                                {'X-Object-Meta-Street': 'straße'}))

    def test_composed_and_decomposed_are_equal(self):
        decomposed = 'ba\u0301r'
        self.assertTrue(matches({'x-object-meta-name': decomposed},
                                self.headers))

    def test_bytes_value_read_as_utf8(self):
        self.assertTrue(matches({'x-object-meta-name': 'bár'},
                                {'x-object-meta-name': 'BÁR'.encode()}))

    def test_missing_header_does_not_match(self):
        self.assertFalse(matches({'x-object-meta-size': ''}, self.headers))
        self.assertTrue(matches({'NOT': {'x-object-meta-size': 'big'}},
                                self.headers))

    def test_and(self):
        both = {'AND': [{'content-type': 'image/jpeg'},
                        {'x-object-meta-colour': 'blue'}]}
        one = {'AND': [{'content-type': 'image/jpeg'},
                       {'x-object-meta-colour': 'red'}]}
        self.assertTrue(matches(both, self.headers))
        self.assertFalse(matches(one, self.headers))

    def test_or(self):
        one = {'OR': [{'content-type': 'text/plain'},
                      {'x-object-meta-colour': 'blue'}]}
        none = {'OR': [{'content-type': 'text/plain'},
                       {'x-object-meta-colour': 'red'}]}
        self.assertTrue(matches(one, self.headers))
        self.assertFalse(matches(none, self.headers))

    def test_not(self):
        self.assertFalse(matches({'NOT': {'content-type': 'image/jpeg'}},
                                 self.headers))
        self.assertTrue(matches({'NOT': {'content-type': 'text/plain'}},
                                self.headers))

    def test_nested(self):
        criteria = {'OR': [
            {'x-object-meta-tier': 'cold'},
            {'AND': [{'content-type': 'image/jpeg'},
                     {'NOT': {'x-object-meta-keep': 'true'}}]}]}
        self.assertTrue(matches(criteria, self.headers))
        self.assertFalse(matches(
            criteria, dict(self.headers, **{'X-Object-Meta-Keep': 'TRUE'})))
        self.assertTrue(matches(
            criteria, {'x-object-meta-tier': 'Cold',
                       'x-object-meta-keep': 'true'}))


if __name__ == '__main__':
    unittest.main()
